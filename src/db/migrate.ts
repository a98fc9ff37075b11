import { resolve } from 'node:path'
import { DrizzleQueryError } from 'drizzle-orm'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { ConnectionError } from '../errors.js'
import type { Database } from './database.js'

/** Session advisory lock key shared by every leakless migrator: the bytes of "leakless" as an int8. */
const MIGRATION_LOCK_KEY = '7810756242751976307'

/** Per drizzle instance, the migration in flight, so callers in one process also take turns. */
const inFlight = new WeakMap<object, Promise<void>>()

/** Options of {@link ensureSchema}. */
export interface EnsureSchemaOptions {
  /** Folder written by `drizzle-kit generate` (with `meta/_journal.json`), relative to the working directory. */
  migrationsFolder: string
}

/**
 * Applies the drizzle migrations in `migrationsFolder` that the database lacks. Safe to call from
 * several workers at once: an advisory lock makes them take turns, and the later ones find nothing to do.
 *
 * @example
 * await ensureSchema(db, { migrationsFolder: 'drizzle' })
 */
export async function ensureSchema(db: Database, { migrationsFolder }: EnsureSchemaOptions): Promise<void> {
  const previous = inFlight.get(db.drizzle) ?? Promise.resolve()
  const current = previous.catch(() => {}).then(() => migrateLocked(db, migrationsFolder))
  inFlight.set(db.drizzle, current)
  try {
    await current
  } catch (error) {
    throw migrationFailed(error, migrationsFolder)
  } finally {
    if (inFlight.get(db.drizzle) === current) inFlight.delete(db.drizzle)
  }
}

async function migrateLocked(db: Database, migrationsFolder: string): Promise<void> {
  if (db.driver === 'pglite') {
    // PGlite is one in-process connection: the in-process queue is all the serialising it needs.
    const { migrate } = await import('drizzle-orm/pglite/migrator')
    await migrate(db.drizzle as PgliteDatabase, { migrationsFolder })
    return
  }
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const client = (db.drizzle as unknown as { $client: Sql }).$client
  // The lock lives on one reserved connection for the whole migrate, which runs on the rest of the pool;
  // a pool of one has nothing to reserve, and then every statement shares that connection anyway.
  const locker: Sql & { release?: () => void } = client.options.max > 1 ? await client.reserve() : client
  try {
    await locker.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
    try {
      await migrate(db.drizzle as PostgresJsDatabase, { migrationsFolder })
    } finally {
      await locker.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => {})
    }
  } finally {
    locker.release?.()
  }
}

function migrationFailed(error: unknown, migrationsFolder: string): ConnectionError {
  const folder = resolve(migrationsFolder)
  let reason = error instanceof Error ? error.message : String(error)
  let statement: string | null = null
  if (error instanceof DrizzleQueryError) {
    const cause = error.cause
    reason = cause instanceof Error ? cause.message : reason
    statement = error.query.trim().replace(/\s+/g, ' ')
    if (statement.length > 200) statement = `${statement.slice(0, 200)}…`
  }
  return new ConnectionError(
    'MIGRATION_FAILED',
    `Migrations in ${folder} failed: ${reason}${statement ? ` (statement: ${statement})` : ''}. Fix the migration or the database it runs against, then run again.`,
    { cause: error, details: { migrationsFolder: folder, statement } },
  )
}
