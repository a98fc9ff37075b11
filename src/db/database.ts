import type { SQL } from 'drizzle-orm'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import { ConnectionError } from '../errors.js'

/** The driver under a {@link Database}'s drizzle instance. */
export type Driver = 'postgres-js' | 'pglite'

/** Any drizzle PostgreSQL database; postgres.js and PGlite instances both fit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPgDatabase = PgDatabase<any, any, any>

/** Where a database is, for messages and logs (never the password). */
export interface DatabaseTarget {
  readonly host: string | null
  readonly port: number | null
  readonly database: string | null
}

/** A connected database: the drizzle instance plus what leakless needs to run SQL on any driver. */
export interface Database {
  readonly drizzle: AnyPgDatabase
  readonly driver: Driver
  /** Where it came from: a URL, the embedded PostgreSQL, or a drizzle instance passed in. */
  readonly source: 'url' | 'embedded' | 'drizzle'
  readonly target: DatabaseTarget
  /**
   * Runs SQL (a drizzle `sql` template, or a string with `$1`… placeholders and `params`) and returns
   * the rows on every driver. A string with parameters becomes a prepared statement of the connection
   * (one round trip each time after the first): keep values in `params`, not in the text.
   *
   * @example
   * const [row] = await db.execute<{ n: number }>('select $1::int as n', [1])
   */
  execute<T extends Record<string, unknown> = Record<string, unknown>>(
    query: SQL | string,
    params?: unknown[],
  ): Promise<T[]>
  /**
   * Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it
   * throws. `run` executes SQL text with `$n` parameters inside it.
   */
  transaction<T>(fn: (run: RawExecute) => Promise<T>): Promise<T>
  /** Closes only what `connect()` opened; a drizzle instance passed in stays open. */
  close(): Promise<void>
}

/** SQL text with `$n` parameters, returning rows. */
export type RawExecute = <T extends Record<string, unknown> = Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<T[]>

/** The slice of a PGlite instance leakless uses (declared here so nothing imports PGlite at runtime). */
export interface PgliteClientLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
  transaction<T>(
    fn: (tx: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> }) => Promise<T>,
  ): Promise<T>
  exec(text: string): Promise<unknown>
  readonly waitReady: Promise<void>
}

/** The driver client under a drizzle instance, by driver. */
export type DriverClient = { driver: 'postgres-js'; client: Sql } | { driver: 'pglite'; client: PgliteClientLike }

/**
 * Normalises a driver's query result to its rows: postgres.js returns an array, PGlite `{ rows }`.
 *
 * @example
 * const rows = rowsOf<{ id: string }>(await db.drizzle.execute(sql`select id from users`))
 */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[]
  if (typeof result === 'object' && result !== null && Array.isArray((result as { rows?: unknown }).rows)) {
    return (result as { rows: T[] }).rows
  }
  throw new ConnectionError(
    'DB_UNSUPPORTED',
    `leakless cannot read rows from a ${describeValue(result)} query result: expected an array (postgres.js) or { rows } (PGlite).`,
    { details: { result } },
  )
}

/** @internal Builds the {@link Database} handle over a drizzle instance and its driver client. */
export function createDatabaseHandle(init: {
  drizzle: AnyPgDatabase
  driverClient: DriverClient
  source: Database['source']
  target: DatabaseTarget
  close: () => Promise<void>
}): Database {
  const { drizzle, driverClient } = init
  let closing: Promise<void> | undefined
  return {
    drizzle,
    driver: driverClient.driver,
    source: init.source,
    target: init.target,
    async execute<T extends Record<string, unknown>>(query: SQL | string, params?: unknown[]): Promise<T[]> {
      if (typeof query !== 'string') {
        if (params !== undefined) throw new TypeError('execute(): pass params only with a string query')
        return rowsOf<T>(await drizzle.execute(query))
      }
      if (driverClient.driver === 'pglite') return rowsOf<T>(await driverClient.client.query(query, params ?? []))
      // Prepared (named, kept per connection): an unprepared statement with parameters costs
      // postgres.js an extra round trip to describe it first.
      return rowsOf<T>(await driverClient.client.unsafe(query, (params ?? []) as never[], prepared(params)))
    },
    transaction<T>(fn: (run: RawExecute) => Promise<T>): Promise<T> {
      if (driverClient.driver === 'pglite') {
        return driverClient.client.transaction((tx) =>
          fn(async (text, params) => rowsOf(await tx.query(text, params ?? []))),
        )
      }
      return driverClient.client.begin((sql) =>
        fn(async (text, params) => rowsOf(await sql.unsafe(text, (params ?? []) as never[], prepared(params)))),
      ) as Promise<T>
    },
    close() {
      closing ??= init.close()
      return closing
    },
  }
}

const prepared = (params: unknown[] | undefined) => ({ prepare: (params?.length ?? 0) > 0 })

/** @internal A short description of a value for error messages: its class name or type. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (typeof value !== 'object') return typeof value
  const name = (value as object).constructor?.name
  return name && name !== 'Object' ? name : 'plain object'
}
