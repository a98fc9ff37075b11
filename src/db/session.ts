import { connect as netConnect, type Socket } from 'node:net'
import postgres, { type Sql } from 'postgres'
import { withDeadline } from '../deadline.js'
import type { Database } from './database.js'

export interface SessionOptions {
  /** `application_name` of the session, so pg_stat_activity says what it is. */
  applicationName: string
  lockTimeoutMs?: number
  /** Called when the session's connection closes (a restart, the network, or endSession). */
  onclose?: () => void
}

const END_WAIT_MS = 2000

/**
 * A postgres.js client of one connection to the same server, database and user as `db`'s pool, for a
 * session that must outlive single queries (a lease, a migration lock). Unlike a connection reserved from
 * the pool it can drop without poisoning the pool, ends promptly, and (its socket unref'd) never keeps
 * the process alive. postgres.js only.
 */
export function dedicatedSession(db: Database, options: SessionOptions): Sql {
  const pool = (db.drizzle as unknown as { $client: Sql }).$client
  return postgres(sessionOptions(pool.options as unknown as ClientOptions, options))
}

/** Ends a dedicated session within a bound, whatever state its connection is in. */
export async function endSession(client: Sql): Promise<void> {
  await withDeadline(client.end({ timeout: 0 }), END_WAIT_MS, () => new Error('lease session did not end')).catch(
    () => {},
  )
}

type ClientOptions = Sql['options'] & Record<string, unknown>

function sessionOptions(
  o: ClientOptions,
  { applicationName, lockTimeoutMs, onclose }: SessionOptions,
): postgres.Options<Record<string, never>> {
  const connectTimeoutMs = Number(o.connect_timeout ?? 30) * 1000
  return {
    host: o.host as unknown as string,
    port: o.port as unknown as number,
    ...(o.path ? { path: o.path as string } : {}),
    database: o.database,
    user: o.user,
    pass: o.pass as unknown as string,
    ssl: o.ssl as postgres.Options<Record<string, never>>['ssl'],
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
