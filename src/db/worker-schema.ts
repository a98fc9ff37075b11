import { readMigrationFiles } from 'drizzle-orm/migrator'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import type { Database } from './database.js'
import { migrationFailed } from './migrate.js'
import { q } from './sql-text.js'

/** The schema of a run context under isolation 'schema': its process prefix with `-` → `_`, no trailing `_`. */
export function workerSchemaName(processPrefix: string): string {
  return assertOwnedPrefix(processPrefix).slice(0, -1).replace(/-/g, '_')
}

/**
 * Creates schema `name` and applies every migration of `migrationsFolder` inside it, in one transaction:
 * `search_path` is the schema alone, and drizzle-kit's explicit `"public".` (foreign keys, enum types)
 * is written as the schema. Measured against copying a template schema (docs/isolation.md), this is as
 * fast and needs no catalog copying.
 */
export async function createWorkerSchema(db: Database, name: string, migrationsFolder: string): Promise<void> {
  const schema = q(name)
  try {
    const statements = readMigrationFiles({ migrationsFolder })
      .flatMap((m) => m.sql)
      .filter((s) => s.trim() !== '')
      .map((s) => s.replaceAll('"public".', `${schema}.`))
    await db.transaction(async (run) => {
      await run(`create schema ${schema}`)
      await run(`set local search_path to ${schema}`)
      for (const statement of statements) await run(statement)
    })
  } catch (error) {
    throw migrationFailed(error, migrationsFolder)
  }
}
