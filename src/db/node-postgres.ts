/**
 * The slice of node-postgres (`pg`) leakless uses, declared here so nothing imports `pg` unless the
 * user chose it (kysely's habit): a `Pool` or a `Client` under `drizzle-orm/node-postgres`.
 */
export interface PgQueryResult {
  rows: unknown[]
}

export interface PgQueryConfig {
  text: string
  values?: unknown[]
}

interface PgQueryable {
  query(config: PgQueryConfig): Promise<PgQueryResult>
}

/** A client checked out of a pool. */
export interface PgPoolClientLike extends PgQueryable {
  release(destroy?: boolean | Error): void
  on(event: 'error', listener: (...args: unknown[]) => void): unknown
  off(event: 'error', listener: (...args: unknown[]) => void): unknown
  /** The server process of its connection (for pg_cancel_backend). */
  readonly processID?: number
}

export interface PgClientLike extends PgQueryable {
  connect(): Promise<void>
  end(): Promise<void>
  on(event: 'error' | 'end', listener: (...args: unknown[]) => void): unknown
  readonly connectionParameters: Record<string, unknown> & { options?: string }
}

export interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgPoolClientLike>
  end(): Promise<void>
  readonly totalCount: number
  readonly options: Record<string, unknown> & { options?: string }
  readonly Client: new (config: Record<string, unknown>) => PgClientLike
}

/** True for a node-postgres Pool or Client. */
export function isNodePostgres(client: unknown): client is PgPoolLike | PgClientLike {
  if (typeof client !== 'object' || client === null) return false
  const c = client as Partial<PgPoolLike & PgClientLike>
  if (typeof c.query !== 'function' || typeof c.connect !== 'function') return false
  return ('totalCount' in c && typeof c.options === 'object') || typeof c.connectionParameters === 'object'
}

export const isPool = (client: PgPoolLike | PgClientLike): client is PgPoolLike => 'totalCount' in client

/** Where a pg Pool or Client connects (from its own settings; never the password). */
export function targetOfPg(client: PgPoolLike | PgClientLike): {
  host: string | null
  port: number | null
  database: string | null
  user: string | null
} {
  const o = isPool(client) ? client.options : client.connectionParameters
  let host = typeof o.host === 'string' ? o.host : null
  let port = o.port === undefined ? null : Number(o.port)
  let database = typeof o.database === 'string' ? o.database : null
  let user = typeof o.user === 'string' ? o.user : null
  if (typeof o.connectionString === 'string') {
    try {
      const url = new URL(o.connectionString)
      host ??= url.searchParams.get('host') ?? (url.hostname || null)
      port ??= url.port ? Number(url.port) : 5432
      database ??= decodeURIComponent(url.pathname.slice(1)) || null
      user ??= decodeURIComponent(url.username) || null
    } catch {
      // a libpq key=value string: the health check names the server instead
    }
  }
  return { host: host ?? 'localhost', port: port ?? 5432, database, user }
}

/**
 * One transaction on one connection: a pool's checked-out client (destroyed, not returned, when its
 * connection failed), or a Client, whose transactions run one at a time.
 */
export async function pgTransaction<T>(
  client: PgPoolLike | PgClientLike,
  fn: (run: (text: string, params?: unknown[]) => Promise<unknown[]>) => Promise<T>,
  isBroken: (error: unknown) => boolean,
): Promise<T> {
  if (!isPool(client)) return serialised(client, () => inTransaction(client, fn).then((r) => r.value))
  return withClient(client, (c) => inTransaction(c, fn).then((r) => r.value), isBroken)
}

/** A pooled client ends up in the pool's 'error' handling only while idle: checked out, its errors are ours. */
const ignore = () => {}

/**
 * Runs `work` on a client checked out of the pool; a client whose connection failed is destroyed, not
 * returned. `onClient` sees it first (its backend pid, to cancel a query that takes too long).
 */
export async function withClient<T>(
  pool: PgPoolLike,
  work: (client: PgPoolClientLike) => Promise<T>,
  isBroken: (error: unknown) => boolean,
  onClient?: (client: PgPoolClientLike) => void,
): Promise<T> {
  const checkedOut = await pool.connect()
  checkedOut.on('error', ignore)
  onClient?.(checkedOut)
  let failure: unknown
  try {
    return await work(checkedOut)
  } catch (error) {
    failure = error
    throw error
  } finally {
    checkedOut.off('error', ignore)
    checkedOut.release(failure !== undefined && isBroken(failure) ? (failure as Error) : undefined)
  }
}

async function inTransaction<T>(
  c: PgQueryable,
  fn: (run: (text: string, params?: unknown[]) => Promise<unknown[]>) => Promise<T>,
): Promise<{ value: T; error?: unknown }> {
  await c.query({ text: 'begin' })
  try {
    const value = await fn(async (text, params = []) => (await c.query({ text, values: params })).rows)
    await c.query({ text: 'commit' })
    return { value }
  } catch (error) {
    await c.query({ text: 'rollback' }).catch(() => {})
    throw error
  }
}

const queues = new WeakMap<object, Promise<unknown>>()

/** A Client is one connection: its transactions must not interleave. */
function serialised<T>(client: object, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve()
  const next = previous.catch(() => {}).then(work)
  queues.set(client, next)
  return next
}
