const BRAND = Symbol.for('leakless.error')

/** Stable machine-readable codes carried by every {@link LeaklessError}. */
export type LeaklessErrorCode =
  | 'RUN_TAG_INVALID'
  | 'WORKER_INDEX_INVALID'
  | 'SHARD_INVALID'
  | 'PID_INVALID'
  | 'LABEL_INVALID'
  | 'LABEL_TOO_LONG'
  | 'HANDLE_UNAVAILABLE'
  | 'HANDLE_RANGE'
  | 'DOMAIN_INVALID'
  | 'PREFIX_INVALID'
  | 'OPTION_INVALID'
  | 'STATE_DIR_UNWRITABLE'
  | 'SEED_INVALID'
  // leakless.config.ts (ConfigError)
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_LOAD_FAILED'
  | 'CONFIG_INVALID'
  | 'TABLE_KEY_INVALID'
  | 'UNKNOWN_SCHEMA'
  | 'GLOBAL_SETUP_MISSING'
  | 'APP_SERVER_FAILED'
  | 'APP_SERVER_TIMEOUT'
  | 'ISOLATION_UNSUPPORTED'
  // leakless init (ConfigError)
  | 'INIT_SCHEMA_MISSING'
  | 'INIT_SCHEMA_INVALID'
  | 'INIT_FILE_EXISTS'
  // database connection (ConnectionError)
  | 'DB_UNREACHABLE'
  | 'DB_AUTH_FAILED'
  | 'DB_NOT_FOUND'
  | 'DB_TIMEOUT'
  | 'DB_CONNECTION_LOST'
  | 'DB_CLOSED'
  | 'DB_UNSUPPORTED'
  | 'EMBEDDED_START_FAILED'
  | 'EMBEDDED_NOT_INSTALLED'
  | 'MIGRATION_FAILED'
  // the run registry in the database (ConnectionError)
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_VERSION'
  // factories (FactoryError for definitions and overrides, InsertError for the database's refusals)
  | 'UNKNOWN_COLUMN'
  | 'UNKNOWN_TRAIT'
  | 'FACTORY_NOT_BOUND'
  | 'INVALID_COUNT'
  | 'LIST_TOO_LARGE'
  | 'INSERT_UNIQUE_VIOLATION'
  | 'INSERT_FOREIGN_KEY_VIOLATION'
  | 'INSERT_NOT_NULL_VIOLATION'
  | 'INSERT_CHECK_VIOLATION'
  | 'INSERT_FAILED'
  // safety guard (GuardError)
  | 'GUARD_PRODUCTION'
  | 'GUARD_REMOTE'
  | 'GUARD_DATABASE_NAME'
  // cleanup, audit and sweep (CleanupError, LeakError)
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_TAG_COLUMN'
  | 'CLEANUP_NULLABLE_DEPENDENT'
  | 'CLEANUP_LOCK_TIMEOUT'
  | 'CLEANUP_FAILED'
  | 'CLEANUP_BACKGROUND_FAILED'
  | 'LEAKS_FOUND'

export interface LeaklessErrorOptions {
  cause?: unknown
  /** Extra structured context (the object the error is about). */
  details?: Record<string, unknown>
}

/**
 * Base class of every error leakless throws. Check with {@link isLeaklessError}, which also works
 * when two copies of the package are loaded.
 */
export class LeaklessError extends Error {
  override name = 'LeaklessError'
  readonly code: LeaklessErrorCode
  readonly details: Record<string, unknown>

  constructor(code: LeaklessErrorCode, message: string, options: LeaklessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/** Invalid configuration or environment (`LEAKLESS_RUN`, worker index, shard, state directory). */
export class ConfigError extends LeaklessError {
  override name = 'ConfigError'
}

/** Invalid input to an id helper (label, e-mail domain, prefix). */
export class InputError extends LeaklessError {
  override name = 'InputError'
}

/** The database could not be reached, authenticated against, started or migrated. */
export class ConnectionError extends LeaklessError {
  override name = 'ConnectionError'
}

/** A factory was defined or called wrongly (unknown column or trait, not bound to a database). */
export class FactoryError extends LeaklessError {
  override name = 'FactoryError'
}

/** The database refused a factory's insert (constraint violation); the driver error is the `cause`. */
export class InsertError extends LeaklessError {
  override name = 'InsertError'
}

/** Destructive SQL refused: production environment, remote server or a database not named like a test one. */
export class GuardError extends LeaklessError {
  override name = 'GuardError'
}

/** Cleanup could not delete exactly what it owns (or would have deleted something it does not own). */
export class CleanupError extends LeaklessError {
  override name = 'CleanupError'
}

/** The leak audit found rows a run left behind. */
export class LeakError extends LeaklessError {
  override name = 'LeakError'
}

/** True for any error thrown by leakless, from this copy of the package or another. */
export function isLeaklessError(value: unknown): value is LeaklessError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
}
