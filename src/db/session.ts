import { connect as netConnect, type Socket } from 'node:net'
import type { Options, Sql } from 'postgres'
import { withDeadline } from '../deadline.js'
import type { Database } from './database.js'
import type { PgClientLike, PgPoolLike } from './node-postgres.js'

export interface SessionOptions {
  /** `application_name` of the session, so pg_stat_activity says what it is. */
  applicationName: string
  lockTimeoutMs?: number
  /** Called when the session's connection closes (a restart, the network, or end()). */
  onclose?: () => void
}

/** One connection of its own, for a session that must outlive single queries (a lease, a migration lock). */
export interface DedicatedSession {
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  /** Ends the session (and every session-level lock with it) within a bound; never throws. */
  end(): Promise<void>
}

const END_WAIT_MS = 2000

/**
 * A connection to the same server, database and user as `db`'s pool, on the same driver. Unlike a
 * connection reserved from the pool it can drop without poisoning the pool, ends promptly, and (its
 * socket unref'd) never keeps the process alive.
 */
export function dedicatedSession(db: Database, options: SessionOptions): DedicatedSession {
  const client = (db.drizzle as unknown as { $client: unknown }).$client
  if (db.driver === 'node-postgres') return nodePostgresSession(client as PgPoolLike | PgClientLike, options)
  // postgres.js is loaded: the pool is one of its clients.
  const sql = import('postgres').then(({ default: postgres }) =>
    postgres(sessionOptions((client as Sql).options as unknown as ClientOptions, options)),
  )
  return {
    query: async (text, params = []) => (await (await sql).unsafe(text, params as never[])) as never,
    end: () => bounded(sql.then((s) => s.end({ timeout: 0 }))),
  }
}

const bounded = (work: Promise<unknown>): Promise<void> =>
  withDeadline(work, END_WAIT_MS, () => new Error('session did not end')).then(
    () => {},
    () => {},
  )

function nodePostgresSession(pool: PgPoolLike | PgClientLike, options: SessionOptions): DedicatedSession {
  const isPool = 'totalCount' in pool
  const Client = isPool ? (pool as PgPoolLike).Client : (pool.constructor as PgPoolLike['Client'])
  const base = isPool ? (pool as PgPoolLike).options : (pool as PgClientLike).connectionParameters
  const settings = [
    `-c application_name=${options.applicationName.replace(/\s/g, '_')}`,
    ...(options.lockTimeoutMs === undefined ? [] : [`-c lock_timeout=${options.lockTimeoutMs}`]),
  ].join(' ')
  const client = new Client({ ...base, options: [base.options, settings].filter(Boolean).join(' ') })
  client.on('error', () => {}) // a dropped connection: the next query fails, 'end' tells the owner
  if (options.onclose) client.on('end', options.onclose)
  const connected = client.connect().then(() => {
    ;(client as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.()
  })
  connected.catch(() => {})
  return {
    async query(text, params = []) {
      await connected
      return (await client.query({ text, values: params })).rows as never
    },
    end: () => bounded(connected.then(() => client.end())),
  }
}

type ClientOptions = Sql['options'] & Record<string, unknown>

function sessionOptions(
  o: ClientOptions,
  { applicationName, lockTimeoutMs, onclose }: SessionOptions,
): Options<Record<string, never>> {
  const connectTimeoutMs = Number(o.connect_timeout ?? 30) * 1000
  return {
    host: o.host as unknown as string,
    port: o.port as unknown as number,
    ...(o.path ? { path: o.path as string } : {}),
    database: o.database,
    user: o.user,
    pass: o.pass as unknown as string,
    ssl: o.ssl as Options<Record<string, never>>['ssl'],
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    fetch_types: false,
    connect_timeout: Number(o.connect_timeout ?? 30),
    connection: {
      ...(o.connection as Record<string, string>),
      application_name: applicationName,
      ...(lockTimeoutMs === undefined ? {} : { lock_timeout: lockTimeoutMs }),
    },
    onnotice: () => {},
    ...(onclose ? { onclose } : {}),
    // A documented postgres.js option its types leave out: the socket to use, already connected.
    ...{ socket: () => unrefSocket(o, connectTimeoutMs) },
  }
}

function unrefSocket(o: ClientOptions, timeoutMs: number): Promise<Socket> {
  const path = typeof o.path === 'string' && o.path !== '' ? o.path : null
  const host = (o.host as unknown as string[])[0] ?? 'localhost'
  const port = (o.port as unknown as number[])[0] ?? 5432
  const socket = path ? netConnect(path) : netConnect(port, host)
  Object.assign(socket, { host, port }) // what postgres.js's TLS upgrade reads for the server name
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error(`connect timeout after ${timeoutMs} ms`), { code: 'CONNECT_TIMEOUT' }))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      socket.unref()
      resolve(socket)
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}
