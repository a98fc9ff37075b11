import { resolve } from 'node:path'
import { DrizzleQueryError } from 'drizzle-orm'
import { readMigrationFiles, type MigrationMeta } from 'drizzle-orm/migrator'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import { ConnectionError } from '../errors.js'
import type { Database } from './database.js'
import { dedicatedSession } from './session.js'

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
  // The lock lives on a session of its own for the whole migrate, which runs on the pool. Not a connection
  // reserved from the pool: postgres.js puts a dropped reserved connection back, and the next query on
  // it throws from inside the driver.
  const locker = dedicatedSession(db, { applicationName: 'leakless migrate' })
  try {
    await locker.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
    await applyMigrations(db, readMigrationFiles({ migrationsFolder }))
  } finally {
    await locker.end() // the lock ends with the session
  }
}

/**
 * What drizzle's migrator does (its `drizzle.__drizzle_migrations` table, hashes and order), through
 * {@link Database.transaction}, which survives a connection that drops mid-transaction.
 */
async function applyMigrations(db: Database, migrations: MigrationMeta[]): Promise<void> {
  await db.execute('create schema if not exists "drizzle"')
  await db.execute(
    'create table if not exists "drizzle"."__drizzle_migrations" (id serial primary key, hash text not null, created_at bigint)',
  )
  const [last] = await db.execute<{ created_at: string | null }>(
    'select created_at::text from "drizzle"."__drizzle_migrations" order by created_at desc limit 1',
  )
  const pending = migrations.filter((m) => last === undefined || Number(last.created_at) < m.folderMillis)
  if (pending.length === 0) return
  await db.transaction(async (run) => {
    for (const migration of pending) {
      for (const statement of migration.sql) if (statement.trim() !== '') await run(statement)
      await run('insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values ($1, $2)', [
        migration.hash,
        migration.folderMillis,
      ])
    }
  })
}

/** @internal A migration's failure as MIGRATION_FAILED, naming the folder and the statement. */
export function migrationFailed(error: unknown, migrationsFolder: string): ConnectionError {
  const folder = resolve(migrationsFolder)
  let reason = error instanceof Error ? error.message : String(error)
  let statement: string | null = null
  // drizzle's wrapper (PGlite), or postgres.js's error, which carries the statement as `query`.
  const query = error instanceof DrizzleQueryError ? error.query : (error as { query?: unknown } | null)?.query
  if (error instanceof DrizzleQueryError) reason = error.cause instanceof Error ? error.cause.message : reason
  if (typeof query === 'string') {
    statement = query.trim().replace(/\s+/g, ' ')
    if (statement.length > 200) statement = `${statement.slice(0, 200)}…`
  }
  return new ConnectionError(
    'MIGRATION_FAILED',
    `Migrations in ${folder} failed: ${reason}${statement ? ` (statement: ${statement})` : ''}. Fix the migration or the database it runs against, then run again.`,
    { cause: error, details: { migrationsFolder: folder, statement } },
  )
}
