import type { RunCleanupOptions } from '../cleanup/run-cleaner.js'
import type { LeaklessConfig } from '../config/define-config.js'
import { parseDuration } from '../config/duration.js'
import type { ConnectOptions } from '../db/connect.js'
import type { GuardOptions } from '../db/guard.js'

/** The sweep threshold of a configuration, in ms; null when the sweep is off. */
export function sweepThresholdMs(config: LeaklessConfig): number | null {
  if (config.sweep === false) return null
  return parseDuration(config.sweep?.olderThan ?? '1h') ?? 3_600_000
}

export function guardOptionsOf(config: LeaklessConfig): GuardOptions {
  const allow = config.allow ?? {}
  return {
    ...(allow.production === undefined ? {} : { allowProduction: allow.production }),
    ...(allow.remote === undefined ? {} : { allowRemote: allow.remote }),
    ...(allow.databases === undefined ? {} : { allowDatabases: allow.databases }),
  }
}

/** How cleanup treats the database, as the configuration says. */
export function cleanupOptionsOf(config: LeaklessConfig): RunCleanupOptions {
  return {
    ...(config.tagColumns ? { tagColumns: config.tagColumns } : {}),
    ...(config.nullableDependents ? { nullableDependents: config.nullableDependents } : {}),
    ...(config.schemas ? { schemas: config.schemas } : {}),
    guard: guardOptionsOf(config),
  }
}

/** Where the configuration says the database is. */
export function connectOptionsOf(config: LeaklessConfig): ConnectOptions {
  return {
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.embedded === undefined ? {} : { embedded: config.embedded }),
  }
}

/** The database URL a configuration points to: `databaseUrl`, else `DATABASE_URL`, else `LEAKLESS_DATABASE_URL`; null for none (embedded). */
export function configuredUrl(config: LeaklessConfig, env: NodeJS.ProcessEnv): string | null {
  return config.databaseUrl || env.DATABASE_URL || env.LEAKLESS_DATABASE_URL || null
}
