import { entityKind, is, type Logger } from 'drizzle-orm'
import { PgDatabase } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import { ConnectionError } from '../errors.js'
import {
  describeUrl,
  toConnectionError,
  withTimeout,
  type ConnectionOrigin,
  type TargetDescription,
} from './connection-errors.js'
import {
  createDatabaseHandle,
  describeKind,
  type AnyPgDatabase,
  type Database,
  type DriverClient,
  type PgliteClientLike,
} from './database.js'
import { isNodePostgres, targetOfPg, type PgPoolLike } from './node-postgres.js'
import { parsePostgresUrl, withDatabaseName, type PostgresUrl } from './postgres-url.js'
import { q } from './sql-text.js'
import { startEmbedded, type EmbeddedOptions, type EmbeddedServer } from './embedded.js'

/** `lock_timeout` of the connections `connect()` opens. */
export const CONNECTION_LOCK_TIMEOUT_MS = 5000

/** How {@link connect} finds the database. */
export interface ConnectOptions {
  /** A PostgreSQL URL. @default `DATABASE_URL`, else `LEAKLESS_DATABASE_URL`, else the embedded PostgreSQL */
  url?: string
  /** An existing drizzle instance (postgres.js or PGlite); takes precedence over every URL. Never closed by leakless. */
  db?: AnyPgDatabase
  /** Options for the embedded PostgreSQL used when no URL is given; `false` requires a URL instead. @default {} */
  embedded?: EmbeddedOptions | false
  /** drizzle's query logger, used when `connect()` creates the drizzle instance. @default none */
  logger?: Logger
  /** How long the `select 1` health check may take. @default 5000 */
  healthCheckTimeoutMs?: number
  /** Connection pool size for URLs. @default 10 */
  max?: number
  /**
   * The driver `connect()` opens a URL with: postgres.js (`postgres`) or node-postgres (`pg`), both
   * optional peer dependencies. A drizzle instance passed as `db` keeps its own.
   * @default postgres.js when it is installed, else node-postgres
   */
  driver?: 'postgres-js' | 'pg'
  /**
   * How long one statement or transaction of leakless may wait for the server before it fails with
   * `DB_TIMEOUT` (a server that hangs never hangs the run). @default 120000
   */
  queryTimeoutMs?: number
  /**
   * Schemas of `search_path` on every connection `connect()` opens for a URL, first to last (isolation
   * 'schema' puts the worker's schema first). @default the server's
   */
  searchPath?: readonly string[]
  /**
   * Another database on the server the URL (or the embedded PostgreSQL) points to: isolation 'database'
   * connects to a worker's own database this way. @default the URL's
   */
  database?: string
  /** Environment to read `DATABASE_URL`, `LEAKLESS_DATABASE_URL` and `LEAKLESS_PG_DIR` from. @default process.env */
  env?: NodeJS.ProcessEnv
}

/**
 * Connects to PostgreSQL and checks the connection with `select 1`. Resolution order: `db`, `url`,
 * `DATABASE_URL`, `LEAKLESS_DATABASE_URL`, then the embedded PostgreSQL (started once and shared).
 *
 * @example
 * const db = await connect()
 * const [row] = await db.execute<{ now: string }>('select now()::text as now')
 * await db.close()
 */
export async function connect(options: ConnectOptions = {}): Promise<Database> {
  const env = options.env ?? process.env
  const timeoutMs = options.healthCheckTimeoutMs ?? 5000
  if (options.db !== undefined) return wrapDrizzle(options.db, timeoutMs, options.queryTimeoutMs)

  const fromUrl = pickUrl(options, env)
  if (fromUrl) return connectUrl(fromUrl.url, fromUrl.origin, options, timeoutMs)

  if (options.embedded === false) {
    throw new ConnectionError(
      'DB_UNREACHABLE',
      'No database configured: DATABASE_URL is not set and the embedded PostgreSQL is disabled (embedded: false). Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) or pass { url } to connect().',
    )
  }
  const server = await startEmbedded({ dataDir: env.LEAKLESS_PG_DIR || undefined, ...options.embedded })
  try {
    return await connectUrl(server.url, 'embedded', options, timeoutMs, server)
  } catch (error) {
    await server.stop()
    throw error
  }
}

function pickUrl(options: ConnectOptions, env: NodeJS.ProcessEnv): { url: string; origin: ConnectionOrigin } | null {
  if (options.url) return { url: options.url, origin: 'options.url' }
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, origin: 'DATABASE_URL' }
  if (env.LEAKLESS_DATABASE_URL) return { url: env.LEAKLESS_DATABASE_URL, origin: 'LEAKLESS_DATABASE_URL' }
  return null
}

async function connectUrl(
  url: string,
  origin: ConnectionOrigin,
  options: ConnectOptions,
  timeoutMs: number,
  server?: EmbeddedServer,
): Promise<Database> {
  if (options.database !== undefined) url = withDatabaseName(url, options.database)
  const parsed = parsePostgresUrl(url)
  const target = describeUrl(url)
  if (parsed === null || target === null) {
    throw new ConnectionError(
      'DB_UNSUPPORTED',
      `${origin === 'options.url' ? 'The url passed to connect()' : origin} is not a PostgreSQL URL (expected postgres://user:password@host:port/database).`,
      { details: { origin } },
    )
  }
  const driver = options.driver ?? (await defaultDriver())
  if (driver === 'pg') return connectPg(parsed, target, origin, options, timeoutMs, server)
  const [{ default: postgres }, { drizzle }] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
  ])
  // postgres.js takes a socket directory only as its `host` option (it would send `?host=` as a setting).
  const client = postgres(parsed.driverUrl, {
    ...(parsed.socketDir === null ? {} : { host: parsed.socketDir, port: parsed.port }),
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    // postgres.js waits up to 20 s (3^n/100 s, n never reset while it fails) before reconnecting after
    // errors; after a server restart the pool should be back as soon as the server is.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
    // Test data only: asynchronous commit saves the WAL flush on every insert and cleanup (other
    // sessions still see the rows at once), and no statement waits for a lock longer than 5 s.
    connection: {
      synchronous_commit: 'off',
      lock_timeout: CONNECTION_LOCK_TIMEOUT_MS,
      // The audit's and cleanup's statements are small; JIT compiled one for 176 ms that ran in 1 ms.
      jit: 'off',
      ...(options.searchPath ? { search_path: searchPathOf(options.searchPath) } : {}),
    },
  })
  await healthCheck(
    () => client`select 1`,
    target,
    origin,
    timeoutMs,
    () => client.end({ timeout: 0 }),
  )
  const db = drizzle(client, options.logger ? { logger: options.logger } : {})
  return createDatabaseHandle({
    drizzle: db,
    driverClient: { driver: 'postgres-js', client },
    source: server ? 'embedded' : 'url',
    target: { host: target.host, port: target.port, database: target.database },
    ...(options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: options.queryTimeoutMs }),
    close: async () => {
      await client.end({ timeout: 5 })
      if (server) await server.stop()
    },
  })
}

/** `"a",public` (no spaces: node-postgres passes it in the startup options, split on spaces). */
const searchPathOf = (schemas: readonly string[]) => schemas.map(q).join(',')

/** postgres.js when it is installed, else node-postgres; both are optional peer dependencies. */
async function defaultDriver(): Promise<'postgres-js' | 'pg'> {
  // Literal specifiers, so that a bundler that bundles the app bundles the driver too.
  if (await installed(import('postgres'))) return 'postgres-js'
  if (await installed(import('pg'))) return 'pg'
  throw new ConnectionError(
    'DB_UNSUPPORTED',
    'connect() needs a PostgreSQL driver and none is installed: run `npm install postgres` (postgres.js) or `npm install pg` (node-postgres), or pass a drizzle instance as { db }.',
  )
}

const installed = (loading: Promise<unknown>) =>
  loading.then(
    () => true,
    () => false,
  )

/** node-postgres, loaded only when asked for; a ConnectionError says how to install it. */
async function connectPg(
  parsed: PostgresUrl,
  target: TargetDescription,
  origin: ConnectionOrigin,
  options: ConnectOptions,
  timeoutMs: number,
  server?: EmbeddedServer,
): Promise<Database> {
  let pg: typeof import('pg').default
  let nodePg: typeof import('drizzle-orm/node-postgres')
  try {
    pg = (await import('pg')).default
    nodePg = await import('drizzle-orm/node-postgres')
  } catch (error) {
    throw new ConnectionError(
      'DB_UNSUPPORTED',
      `connect({ driver: 'pg' }) needs node-postgres, which is not installed: run \`npm install pg\` (an optional peer dependency of leakless), or leave driver unset to use postgres.js.`,
      { cause: error, details: { driver: 'pg' } },
    )
  }
  const pool = new pg.Pool({
    connectionString: parsed.driverUrl,
    ...(parsed.socketDir === null ? {} : { host: parsed.socketDir, port: parsed.port }),
    max: options.max ?? 10,
    connectionTimeoutMillis: timeoutMs,
    // As for postgres.js: asynchronous commit, and no lock wait longer than 5 s.
    options: [
      `-c synchronous_commit=off -c lock_timeout=${CONNECTION_LOCK_TIMEOUT_MS} -c jit=off`,
      ...(options.searchPath ? [`-c search_path=${searchPathOf(options.searchPath)}`] : []),
    ].join(' '),
  })
  pool.on('error', () => {}) // an idle client whose connection dropped: the pool replaces it
  await healthCheck(
    () => pool.query('select 1'),
    target,
    origin,
    timeoutMs,
    () => pool.end(),
  )
  return createDatabaseHandle({
    drizzle: nodePg.drizzle(pool, options.logger ? { logger: options.logger } : {}),
    driverClient: { driver: 'node-postgres', client: pool as unknown as PgPoolLike },
    source: server ? 'embedded' : 'url',
    target: { host: target.host, port: target.port, database: target.database },
    ...(options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: options.queryTimeoutMs }),
    close: async () => {
      await withTimeout(pool.end(), 5000).catch(() => {})
      if (server) await server.stop()
    },
  })
}

async function wrapDrizzle(db: AnyPgDatabase, timeoutMs: number, queryTimeoutMs?: number): Promise<Database> {
  const driverClient = detectDriver(db)
  const target: TargetDescription =
    driverClient.driver === 'postgres-js'
      ? targetOfClient(driverClient.client)
      : driverClient.driver === 'node-postgres'
        ? targetOfPg(driverClient.client)
        : { host: null, port: null, database: null, user: null }
  const handle = createDatabaseHandle({
    drizzle: db,
    driverClient,
    source: 'drizzle',
    target: { host: target.host, port: target.port, database: target.database },
    ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
    close: async () => {},
  })
  await healthCheck(
    () => handle.execute('select 1'),
    target,
    'db',
    timeoutMs,
    async () => {},
  )
  return handle
}

async function healthCheck(
  query: () => PromiseLike<unknown>,
  target: TargetDescription,
  origin: ConnectionOrigin,
  timeoutMs: number,
  closeOnFailure: () => Promise<unknown>,
): Promise<void> {
  const check = Promise.resolve(query())
  check.catch(() => {}) // a timed-out check may still reject later
  try {
    await withTimeout(check, timeoutMs)
  } catch (error) {
    await closeOnFailure().catch(() => {})
    throw toConnectionError(error, target, origin, timeoutMs)
  }
}

/** @internal Which driver a drizzle instance runs on, from its `$client`; anything else is DB_UNSUPPORTED. */
export function detectDriver(db: unknown): DriverClient {
  const client = typeof db === 'object' && db !== null ? (db as { $client?: unknown }).$client : undefined
  if (is(db, PgDatabase)) {
    if (isPostgresJs(client)) return { driver: 'postgres-js', client }
    if (isPglite(client)) return { driver: 'pglite', client }
    if (isNodePostgres(client)) return { driver: 'node-postgres', client }
  }
  const kind = is(db, PgDatabase) || hasEntityKind(db) ? `a drizzle ${entityName(db)}` : `a ${describeKind(db)}`
  const over = client === undefined ? '' : ` over a ${describeKind(client)} client`
  throw new ConnectionError(
    'DB_UNSUPPORTED',
    `connect({ db }) got ${kind}${over}. leakless supports drizzle PostgreSQL databases on postgres.js (drizzle-orm/postgres-js), node-postgres (drizzle-orm/node-postgres, a pg Pool or Client) and PGlite (drizzle-orm/pglite): create the db with one of those, or pass { url } instead.`,
    { details: { db: kind, client: client === undefined ? null : describeKind(client) } },
  )
}

function isPostgresJs(client: unknown): client is Sql {
  if (typeof client !== 'function') return false
  const c = client as unknown as Record<string, unknown>
  return typeof c.unsafe === 'function' && typeof c.begin === 'function' && typeof c.options === 'object'
}

function isPglite(client: unknown): client is PgliteClientLike {
  const c = client as Partial<PgliteClientLike> | null | undefined
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.query === 'function' &&
    typeof c.exec === 'function' &&
    'waitReady' in c
  )
}

function hasEntityKind(value: unknown): boolean {
  return typeof value === 'object' && value !== null && entityKind in (value.constructor ?? {})
}

function entityName(value: unknown): string {
  const ctor = (value as { constructor?: Record<symbol, unknown> }).constructor
  return String(ctor?.[entityKind] ?? describeKind(value))
}

function targetOfClient(client: Sql): TargetDescription {
  const o = client.options as Partial<{ host: string[]; port: number[]; database: string; user: string }>
  return { host: o.host?.[0] ?? null, port: o.port?.[0] ?? null, database: o.database ?? null, user: o.user ?? null }
}
