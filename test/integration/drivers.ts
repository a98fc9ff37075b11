/** The drivers every integration suite runs on: PostgreSQL over postgres.js and over node-postgres, and PGlite in-process. */
import { PGlite } from '@electric-sql/pglite'
import type { Logger } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import pg from 'pg'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { connect, ensureSchema, type Database } from '../../src/db/index.js'

export const migrationsFolder = fileURLToPath(new URL('../../factories/migrations', import.meta.url))

export interface DriverCase {
  name: 'postgres' | 'pg' | 'pglite'
  /** Opens a connection whose drizzle instance logs every statement to `logger`. */
  open(logger?: Logger): Promise<Database>
  /** Opens a connection that reports every statement the driver itself sends to the server. */
  openCounting(onStatement: (text: string) => void): Promise<Database>
}

/** The URL the integration suites run against: DATABASE_URL, or the embedded server of the global setup. */
export const databaseUrl = () => process.env.DATABASE_URL || process.env.LEAKLESS_DATABASE_URL || ''

export const drivers: DriverCase[] = [
  // DATABASE_URL, or the embedded server the global setup started (LEAKLESS_DATABASE_URL).
  {
    name: 'postgres',
    open: (logger) => connect(logger ? { logger } : {}),
    async openCounting(onStatement) {
      // postgres.js calls `debug` for every query it sends.
      const client = postgres(databaseUrl(), {
        onnotice: () => {},
        // postgres.js reads pg_type once per new connection for array types: its own query, not ours.
        debug: (_connection, text) => {
          if (!/from pg_catalog\.pg_type/.test(text)) onStatement(text)
        },
      })
      const db = await connect({ db: drizzlePostgres(client) })
      return { ...db, close: () => client.end() }
    },
  },
  // The same server over node-postgres (drizzle-orm/node-postgres on a pg Pool).
  {
    name: 'pg',
    open: (logger) => connect({ driver: 'pg', ...(logger ? { logger } : {}) }),
    async openCounting(onStatement) {
      // Every statement a pool's client sends goes through Client.query.
      class CountingClient extends pg.Client {
        override query(...args: unknown[]): never {
          const [config] = args as [string | { text: string }]
          onStatement(typeof config === 'string' ? config : config.text)
          return (super.query as (...a: unknown[]) => never)(...args)
        }
      }
      const pool = new pg.Pool({ connectionString: databaseUrl(), Client: CountingClient })
      const db = await connect({ db: drizzlePg(pool) })
      return { ...db, close: () => pool.end() }
    },
  },
  {
    name: 'pglite',
    async open(logger) {
      const db = await connect({ db: drizzle(new PGlite(), logger ? { logger } : {}) })
      await ensureSchema(db, { migrationsFolder })
      return db
    },
    async openCounting(onStatement) {
      const client = new PGlite()
      const db = await connect({ db: drizzle(client) })
      await ensureSchema(db, { migrationsFolder })
      // Every statement reaches PGlite through query() or exec().
      const { query, exec } = client
      client.query = ((text: string, ...rest: unknown[]) => (
        onStatement(text),
        query.call(client, text, ...(rest as []))
      )) as typeof query
      client.exec = ((text: string, ...rest: unknown[]) => (
        onStatement(text),
        exec.call(client, text, ...(rest as []))
      )) as typeof exec
      return { ...db, close: () => client.close() }
    },
  },
]

/**
 * Deletes what a test run made in the reference tables, children first. Test-suite housekeeping
 * until leakless's own cleanup exists; matches by prefix with starts_with (no wildcards).
 */
export async function deleteByPrefix(db: Database, prefix: string): Promise<void> {
  await db.execute('delete from activity where starts_with(user_id, $1)', [prefix])
  await db.execute(
    'delete from bookings where starts_with(id, $1) or starts_with(parent_id, $1) or starts_with(instructor_id, $1)',
    [prefix],
  )
  await db.execute('delete from sessions where starts_with(id, $1) or starts_with(user_id, $1)', [prefix])
  await db.execute('delete from users where starts_with(id, $1)', [prefix])
}
