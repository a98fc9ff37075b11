import type { SQL } from 'drizzle-orm'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import { ConnectionError } from '../errors.js'
import { DEFAULT_QUERY_TIMEOUT_MS, withDeadline } from '../deadline.js'
import { isConnectionLost, isPoolClosed } from '../driver-error.js'
import { asConnectionFailure, noAnswer } from './connection-lost.js'
import {
  isPool,
  pgTransaction,
  withClient,
  type PgClientLike,
  type PgPoolClientLike,
  type PgPoolLike,
} from './node-postgres.js'

/** The driver under a {@link Database}'s drizzle instance. */
export type Driver = 'postgres-js' | 'pglite' | 'node-postgres'

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
  /**
   * Closes what `connect()` opened (a drizzle instance passed in stays open) and ends the leases of runs
   * on this handle (their rows are then no longer protected from a sweep): call `run.close()` first.
   * Queries still running get up to 5 s before they are cancelled.
   */
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
export type DriverClient =
  | { driver: 'postgres-js'; client: Sql }
  | { driver: 'pglite'; client: PgliteClientLike }
  | { driver: 'node-postgres'; client: PgPoolLike | PgClientLike }

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
    `leakless cannot read rows from a ${describeKind(result)} query result: expected an array (postgres.js) or { rows } (PGlite).`,
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
  /** Bound of every `execute` and `transaction`. @default DEFAULT_QUERY_TIMEOUT_MS */
  queryTimeoutMs?: number
}): Database {
  const { drizzle, driverClient, target } = init
  const timeoutMs = init.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
  const closers = new Set<() => Promise<void>>()
  let closing: Promise<void> | undefined
  // Every wait is bounded, and a server that went away is a ConnectionError, not a driver's raw error.
  const guarded = <T>(work: () => Promise<T>, doing: string, cancel?: () => void): Promise<T> => {
    let running: Promise<T>
    try {
      running = work()
    } catch (error) {
      running = Promise.reject(error)
    }
    return withDeadline(running, timeoutMs, () => noAnswer(target, doing, timeoutMs), cancel).catch(
      (error: unknown) => {
        throw asConnectionFailure(error, target, doing)
      },
    )
  }
  const handle: Database = {
    drizzle,
    driver: driverClient.driver,
    source: init.source,
    target: init.target,
    async execute<T extends Record<string, unknown>>(query: SQL | string, params?: unknown[]): Promise<T[]> {
      if (typeof query !== 'string') {
        if (params !== undefined) throw new TypeError('execute(): pass params only with a string query')
        return rowsOf<T>(await guarded(() => drizzle.execute(query), 'running a drizzle query'))
      }
      const doing = `running ${describeSql(query)}`
      if (driverClient.driver === 'pglite') {
        return rowsOf<T>(await guarded(() => driverClient.client.query(query, params ?? []), doing))
      }
      if (driverClient.driver === 'node-postgres') {
        const pg = driverClient.client
        const run = (c: PgPoolClientLike | PgClientLike) => c.query({ text: query, values: params ?? [] })
        if (!isPool(pg)) return rowsOf<T>(await guarded(() => run(pg), doing))
        // On its own client, so that a statement that outlives queryTimeoutMs can be cancelled.
        let pid: number | undefined
        const cancel = () => void pg.query({ text: 'select pg_cancel_backend($1)', values: [pid] }).catch(() => {})
        return rowsOf<T>(
          await guarded(
            () =>
              withClient(
                pg,
                run,
                (e) => isConnectionLost(e) || isPoolClosed(e),
                (c) => (pid = c.processID),
              ),
            doing,
            cancel,
          ),
        )
      }
      // Prepared (named, kept per connection): an unprepared statement with parameters costs
      // postgres.js an extra round trip to describe it first.
      const pending = driverClient.client.unsafe(query, (params ?? []) as never[], prepared(params))
      return rowsOf<T>(
        await guarded(
          () => Promise.resolve(pending),
          doing,
          () => void pending.cancel(),
        ),
      )
    },
    transaction<T>(fn: (run: RawExecute) => Promise<T>): Promise<T> {
      if (driverClient.driver === 'pglite') {
        return guarded(
          () =>
            driverClient.client.transaction((tx) =>
              fn(async (text, params) => rowsOf(await tx.query(text, params ?? []))),
            ),
          'running a transaction',
        )
      }
      if (driverClient.driver === 'node-postgres') {
        const broken = (error: unknown) => isConnectionLost(error) || isPoolClosed(error)
        return guarded(
          () => pgTransaction(driverClient.client, (run) => fn(run as RawExecute), broken),
          'running a transaction',
        )
      }
      return guarded(() => postgresTransaction(driverClient.client, fn), 'running a transaction')
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...closers].map((close) => close()))
        await init.close()
      })()
      return closing
    },
  }
  handlesClosers.set(handle, closers)
  return handle
}

const handlesClosers = new WeakMap<Database, Set<() => Promise<void>>>()

/**
 * @internal Runs `close` when the handle closes (before its pool ends); returns a function that
 * unregisters it. Leases use it so that `db.close()` ends them promptly.
 */
export function onDatabaseClose(db: Database, close: () => Promise<void>): () => void {
  const closers = handlesClosers.get(db)
  closers?.add(close)
  return () => void closers?.delete(close)
}

/** `"delete from …"`, the start of a statement for messages. */
export function describeSql(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return `"${flat.length > 60 ? `${flat.slice(0, 57)}…` : flat}"`
}

const prepared = (params: unknown[] | undefined) => ({ prepare: (params?.length ?? 0) > 0 })

/** How long a transaction whose connection dropped waits for postgres.js to notice the close. */
const CLOSE_NOTICE_MS = 5000

/**
 * `begin()`, except when the connection drops inside: postgres.js then sends its ROLLBACK on the dropped
 * connection from a timer, which throws an uncatchable TypeError (porsager/postgres#1208). So a statement
 * that fails because the connection is gone never returns to `fn`: begin() rejects by itself when the
 * connection closes, and no ROLLBACK is written (the server rolled back when the session ended).
 */
function postgresTransaction<T>(client: Sql, fn: (run: RawExecute) => Promise<T>): Promise<T> {
  let gone: ((error: unknown) => void) | undefined
  const dropped = new Promise<never>((_, reject) => (gone = reject))
  dropped.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const transaction = client.begin((sql) =>
    fn(async (text, params) => {
      try {
        return rowsOf(await sql.unsafe(text, (params ?? []) as never[], prepared(params)))
      } catch (error) {
        if (!isConnectionLost(error) && !isPoolClosed(error)) throw error
        timer = setTimeout(() => gone?.(error), CLOSE_NOTICE_MS)
        return new Promise<never>(() => {})
      }
    }),
  ) as Promise<T>
  return Promise.race([transaction, dropped]).finally(() => clearTimeout(timer))
}

/** @internal The kind of a value for error messages: its class name or type. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (typeof value !== 'object') return typeof value
  const name = (value as object).constructor?.name
  return name && name !== 'Object' ? name : 'plain object'
}
