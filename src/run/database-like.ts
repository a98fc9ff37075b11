import type { PgDatabase } from 'drizzle-orm/pg-core'

/** Any drizzle PostgreSQL database (postgres.js, PGlite, node-postgres). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DrizzleDatabase = PgDatabase<any, any, any>

/** What a run needs from a database: a drizzle instance, bare or wrapped (the handle `connect()` returns). */
export type DatabaseLike = DrizzleDatabase | { readonly drizzle: DrizzleDatabase }

export function drizzleOf(db: DatabaseLike): DrizzleDatabase {
  return 'drizzle' in db && typeof db.drizzle === 'object' && db.drizzle !== null ? db.drizzle : (db as DrizzleDatabase)
}
