import type { PgDatabase } from 'drizzle-orm/pg-core'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'

/** Any drizzle PostgreSQL database (or transaction): the app's own connection, or a test's `db` fixture. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<any, any, any>

/** The app's own connection pool (postgres.js) to `url`. */
export function openDatabase(url: string): { db: Db; close: () => Promise<void> } {
  const client = postgres(url, { max: 10, onnotice: () => {} })
  return { db: drizzle(client), close: () => client.end({ timeout: 5 }) }
}
