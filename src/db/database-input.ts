import { is } from 'drizzle-orm'
import { PgDatabase } from 'drizzle-orm/pg-core'
import { ConnectionError } from '../errors.js'
import { connect } from './connect.js'
import { describeKind, type AnyPgDatabase, type Database } from './database.js'

/**
 * What every leakless API that takes a database accepts: the handle `connect()` returns, or a drizzle
 * instance on postgres.js, node-postgres or PGlite (`run.db`, the adapters' `db` fixture, your app's `db`).
 */
export type DatabaseInput = Database | AnyPgDatabase

/** True for the handle `connect()` returns. */
export function isDatabaseHandle(db: unknown): db is Database {
  return (
    typeof db === 'object' &&
    db !== null &&
    'drizzle' in db &&
    typeof (db as Database).execute === 'function' &&
    typeof (db as Database).transaction === 'function'
  )
}

// One handle per drizzle instance: its health check runs once, and its schema cache is shared.
const handles = new WeakMap<object, Promise<Database>>()

/**
 * The {@link Database} handle for what an API was given; a drizzle instance is wrapped once (never closed
 * by leakless). Anything else is a ConnectionError naming what was passed and what is accepted.
 */
export function databaseOf(db: unknown, api: string): Promise<Database> {
  if (isDatabaseHandle(db)) return Promise.resolve(db)
  if (is(db, PgDatabase)) {
    let handle = handles.get(db)
    if (handle === undefined) {
      handle = connect({ db })
      handles.set(db, handle)
      handle.catch(() => handles.delete(db))
    }
    return handle
  }
  return Promise.reject(
    new ConnectionError(
      'DB_UNSUPPORTED',
      `${api} got ${db === undefined ? 'no db' : `a ${describeKind(db)}`} as its database. Pass the handle connect() returns, or a drizzle PostgreSQL instance (drizzle-orm/postgres-js, drizzle-orm/node-postgres or drizzle-orm/pglite), e.g. run.db.`,
      { details: { api, db: db === undefined ? null : describeKind(db) } },
    ),
  )
}
