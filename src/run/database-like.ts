import type { PgDatabase } from 'drizzle-orm/pg-core'

/** Any drizzle PostgreSQL database (postgres.js, PGlite, node-postgres). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DrizzleDatabase = PgDatabase<any, any, any>

/** What a run needs from a database: a drizzle instance, bare or wrapped (the handle `connect()` returns). */
export type DatabaseLike = DrizzleDatabase | { readonly drizzle: DrizzleDatabase }

export function drizzleOf(db: DatabaseLike): DrizzleDatabase {
  return 'drizzle' in db && typeof db.drizzle === 'object' && db.drizzle !== null ? db.drizzle : (db as DrizzleDatabase)
}

/** Runs SQL text with `$n` parameters on the driver under a drizzle instance; rows as objects. */
export type RawQuery = ((
  text: string,
  params: unknown[],
  options?: { /** Keep a named prepared statement on the connection (texts that repeat). */ prepare?: boolean },
) => Promise<Record<string, unknown>[]>) & {
  /** postgres.js sends array parameters efficiently (one parameter per column with `unnest`). */
  readonly arrays: boolean
}

// Value parsers PGlite and node-postgres must skip so values come back as drizzle's columns expect them
// (as drizzle's own sessions do): timestamp, timestamptz, interval, date and their arrays stay strings.
const PGLITE_TEXT_TYPES = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182]
const pgliteParsers = Object.fromEntries(PGLITE_TEXT_TYPES.map((t) => [t, (value: unknown) => value]))

interface PostgresJsClient {
  unsafe(text: string, params: unknown[], options?: { prepare?: boolean }): Promise<Record<string, unknown>[]>
}
interface PgliteClient {
  query(text: string, params: unknown[], options: object): Promise<{ rows: Record<string, unknown>[] }>
  waitReady: unknown
}

/**
 * Raw access to the driver client of a postgres.js, node-postgres or PGlite drizzle instance (or of a
 * transaction of one: its session's connection), with drizzle's value conventions; null for other drivers
 * (callers fall back to drizzle's query builder).
 */
export function rawQueryOf(db: DrizzleDatabase): RawQuery | null {
  // A transaction has no $client: its session holds the connection the transaction runs on.
  const client =
    (db as { $client?: unknown }).$client ?? (db as unknown as { session?: { client?: unknown } }).session?.client
  if (typeof client === 'function' && typeof (client as Partial<PostgresJsClient>).unsafe === 'function') {
    // Parameters of an unprepared statement cost postgres.js a describe round trip first.
    const run = (text: string, params: unknown[], options: { prepare?: boolean } = {}) =>
      (client as unknown as PostgresJsClient).unsafe(text, params, { prepare: options.prepare ?? false })
    return Object.assign(run, { arrays: true })
  }
  if (typeof client === 'object' && client !== null && 'waitReady' in client && 'query' in client) {
    const pglite = client as PgliteClient
    const run = async (text: string, params: unknown[]) =>
      (await pglite.query(text, params, { rowMode: 'object', parsers: pgliteParsers })).rows
    return Object.assign(run, { arrays: false })
  }
  if (
    typeof client === 'object' &&
    client !== null &&
    'query' in client &&
    ('totalCount' in client || 'connectionParameters' in client)
  ) {
    // node-postgres: one statement per call; values parsed as drizzle's node-postgres session does.
    const pg = client as NodePgClient
    const run = async (text: string, params: unknown[]) =>
      (await pg.query({ text, values: params, types: await nodePgTextTypes() })).rows
    return Object.assign(run, { arrays: false })
  }
  return null
}

interface NodePgClient {
  query(config: { text: string; values: unknown[]; types: object }): Promise<{ rows: Record<string, unknown>[] }>
}

let textTypes: Promise<object> | undefined

/** pg's type parsers, except that the types drizzle keeps as text stay text (pg is there: the user passed its client). */
function nodePgTextTypes(): Promise<object> {
  textTypes ??= import('pg').then(({ default: pg }) => ({
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      PGLITE_TEXT_TYPES.includes(oid) ? (value: unknown) => value : pg.types.getTypeParser(oid, format),
  }))
  return textTypes
}
