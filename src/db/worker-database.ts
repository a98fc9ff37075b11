import { createHash } from 'node:crypto'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { workerSchemaName } from './worker-schema.js'

/** PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1). */
const MAX_NAME_BYTES = 63
/** What follows the base database's name in a template's name: `_lkt_` and 12 hex digits of the hash. */
const TEMPLATE_MARK = '_lkt_'
const TEMPLATE_HASH_LENGTH = 12
/** The suffix of a template while it is being built (it is renamed once migrated). */
export const BUILD_SUFFIX = '_t'

/**
 * The database of a run context under isolation 'database': the base database's name (cut to fit), `_`,
 * and its process prefix as a schema name would have it (`test_mhx2k1a9q3z8w1_3`). Keeping the base
 * name keeps the safety guard's verdict (`*_test_*` still looks like a test database).
 */
export function workerDatabaseName(base: string, processPrefix: string): string {
  const suffix = `_${workerSchemaName(processPrefix)}`
  return `${cutToBytes(base, MAX_NAME_BYTES - suffix.length - BUILD_SUFFIX.length)}${suffix}`
}

/** The migrated template of `base` for one migrations hash: `<base>_lkt_<12 hex>`. */
export function templateDatabaseName(base: string, hash: string): string {
  const suffix = `${TEMPLATE_MARK}${hash.slice(0, TEMPLATE_HASH_LENGTH)}`
  return `${cutToBytes(base, MAX_NAME_BYTES - suffix.length)}${suffix}`
}

/** True when `name` is what {@link workerDatabaseName} (or its template build) gives for `owner` on some base. */
export function isOwnDatabaseName(name: string, owner: string): boolean {
  let suffix: string
  try {
    suffix = `_${workerSchemaName(owner)}`
  } catch {
    return false
  }
  const base = name.endsWith(suffix)
    ? name.slice(0, -suffix.length)
    : name.endsWith(suffix + BUILD_SUFFIX)
      ? name.slice(0, -suffix.length - BUILD_SUFFIX.length)
      : null
  return base !== null && base !== '' && !base.includes('"')
}

/** True when `name` is a template name of {@link templateDatabaseName} for the hash `hash`. */
export function isTemplateName(name: string, hash: string): boolean {
  const suffix = `${TEMPLATE_MARK}${hash.slice(0, TEMPLATE_HASH_LENGTH)}`
  return /^[0-9a-f]{64}$/.test(hash) && name.endsWith(suffix) && name.length > suffix.length
}

/**
 * A hash of what a template holds: every migration's SQL in order, and the registry version the template
 * was prepared with; a template is reused across runs while this stays the same.
 */
export function migrationsHash(migrationsFolder: string, registryVersion: number): string {
  const hash = createHash('sha256').update(`leakless registry ${registryVersion}\n`)
  for (const m of readMigrationFiles({ migrationsFolder })) hash.update(`${m.hash}\n`)
  return hash.digest('hex')
}

function cutToBytes(text: string, bytes: number): string {
  let out = text
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1)
  return out
}
