import { errorCodeOf } from '../driver-error.js'
import { ConnectionError } from '../errors.js'
import type { DatabaseTarget } from './database.js'
import { parsePostgresUrl } from './postgres-url.js'

/** Where a connection's settings came from; decides what the error message tells the user to fix. */
export type ConnectionOrigin = 'options.url' | 'DATABASE_URL' | 'LEAKLESS_DATABASE_URL' | 'embedded' | 'db'

/** A target plus the user name, for messages (never the password). */
export interface TargetDescription extends DatabaseTarget {
  readonly user: string | null
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET'])

/** Reads host, port, database and user from a PostgreSQL URL; null when it is not one. */
export function describeUrl(url: string): TargetDescription | null {
  const parsed = parsePostgresUrl(url)
  return parsed && { host: parsed.host, port: parsed.port, database: parsed.database, user: parsed.user }
}

/** `host:port/database`, for messages. */
export function formatTarget(target: DatabaseTarget): string {
  if (target.host === null) return target.database ?? 'an in-process database'
  return `${target.host}:${target.port ?? 5432}/${target.database ?? ''}`
}

function fixHint(origin: ConnectionOrigin, what: string): string {
  switch (origin) {
    case 'DATABASE_URL':
      return `fix DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL`
    case 'LEAKLESS_DATABASE_URL':
      return `or unset LEAKLESS_DATABASE_URL (startEmbedded() sets it for child processes; the server it named may have stopped) to use the embedded PostgreSQL`
    case 'options.url':
      return `or fix the url passed to connect()`
    case 'embedded':
      return `or delete the embedded data directory to start afresh`
    case 'db':
      return `or fix the ${what} of the drizzle instance passed to connect()`
  }
}

/** Turns a failed health check into one ConnectionError that names the target and what to try. */
export function toConnectionError(
  cause: unknown,
  target: TargetDescription,
  origin: ConnectionOrigin,
  timeoutMs: number,
): ConnectionError {
  const where = `${target.host ?? 'localhost'}:${target.port ?? 5432}`
  const db = target.database ?? '(default)'
  const details = { host: target.host, port: target.port, database: target.database, user: target.user, origin }
  const code = errorCodeOf(cause)
  const reason = cause instanceof Error ? cause.message : String(cause)
  if (code === 'TIMEOUT' || code === 'CONNECT_TIMEOUT') {
    return new ConnectionError(
      'DB_TIMEOUT',
      `PostgreSQL at ${where} (database "${db}") did not answer within ${timeoutMs} ms. Check that ${where} is a PostgreSQL server and reachable (firewall, VPN, container port mapping), raise healthCheckTimeoutMs, ${fixHint(origin, 'host')}.`,
      { cause, details },
    )
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    const what = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `host "${target.host}" was not found` : reason
    return new ConnectionError(
      'DB_UNREACHABLE',
      `Cannot reach PostgreSQL at ${where} (database "${db}"): ${what}. Is PostgreSQL running on ${where}? Start it, ${fixHint(origin, 'host and port')}.`,
      { cause, details },
    )
  }
  if (code === '28P01' || code === '28000') {
    return new ConnectionError(
      'DB_AUTH_FAILED',
      `PostgreSQL at ${where} refused user "${target.user ?? '(default)'}" for database "${db}": ${reason}. Check the user name and password, or the server's pg_hba.conf; ${fixHint(origin, 'credentials')}.`,
      { cause, details },
    )
  }
  if (code === '3D000') {
    const userFlag = target.user ? ` -U ${target.user}` : ''
    return new ConnectionError(
      'DB_NOT_FOUND',
      `Database "${db}" does not exist on PostgreSQL at ${where}. Create it with \`createdb -h ${target.host ?? 'localhost'} -p ${target.port ?? 5432}${userFlag} ${db}\`, ${fixHint(origin, 'database name')}.`,
      { cause, details },
    )
  }
  return new ConnectionError(
    'DB_UNREACHABLE',
    `Cannot use PostgreSQL at ${where} (database "${db}"): ${reason}. Check that it is a PostgreSQL server that accepts this connection, ${fixHint(origin, 'connection settings')}.`,
    { cause, details },
  )
}

/** Runs `check`, rejecting with an error whose code is `TIMEOUT` after `ms`. */
export async function withTimeout<T>(check: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'TIMEOUT' })), ms)
  })
  try {
    return await Promise.race([check, timeout])
  } finally {
    clearTimeout(timer)
  }
}
