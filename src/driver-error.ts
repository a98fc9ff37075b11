/** The fields of a PostgreSQL error as postgres.js and PGlite report them. */
export interface DriverError {
  /** SQLSTATE, e.g. `23505`. */
  code?: string
  message?: string
  detail?: string
  constraint?: string
  constraint_name?: string
  column?: string
  column_name?: string
}

/** The driver's error, also under wrappers such as drizzle's `DrizzleQueryError` (its `cause`). */
export function driverError(error: unknown): DriverError | undefined {
  let current = error as (DriverError & { cause?: unknown }) | undefined
  for (let depth = 0; depth < 4 && current; depth++) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return current
    current = current.cause as typeof current
  }
  return undefined
}

/** The SQLSTATE of a driver error (wrapped or not), if it has one. */
export function sqlStateOf(error: unknown): string | undefined {
  return driverError(error)?.code
}

// SQLSTATEs of a session the server ended or could not start: admin/crash shutdown, starting up,
// and class 08 (connection exceptions).
const LOST_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006'])
// postgres.js and Node socket codes of a connection that dropped or could not be opened.
const LOST_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a unix socket that is not there while the server restarts
])
// The pool was ended by its owner while the query waited or ran.
const CLOSED_CODES = new Set(['CONNECTION_ENDED', 'CONNECTION_DESTROYED'])

/** The SQLSTATE or errno code of an error, looking through wrappers (`cause`) and Node's AggregateError. */
export function errorCodeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    const inner = (e as { errors?: unknown[] }).errors?.[0]
    e = inner ?? (e as { cause?: unknown }).cause
  }
  return undefined
}

/** True when `error` says the server went away (restart, crash, network), not that the SQL was wrong. */
export function isConnectionLost(error: unknown): boolean {
  const code = errorCodeOf(error)
  if (code === undefined) return LOST_MESSAGES.test(messageOf(error))
  return code === 'DB_CONNECTION_LOST' || LOST_SQLSTATES.has(code) || LOST_CODES.has(code)
}

// node-postgres reports a dropped or closed connection by message only.
const LOST_MESSAGES =
  /Connection terminated unexpectedly|Connection terminated due to connection timeout|Client has encountered a connection error/
const CLOSED_MESSAGES = /Cannot use a pool after calling end on the pool|Client was closed and is not queryable/

function messageOf(error: unknown): string {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const message = (e as { message?: unknown }).message
    if (typeof message === 'string' && (LOST_MESSAGES.test(message) || CLOSED_MESSAGES.test(message))) return message
    e = (e as { cause?: unknown }).cause
  }
  return ''
}

/** True when the pool under the handle was closed while `error`'s query waited or ran. */
export function isPoolClosed(error: unknown): boolean {
  const code = errorCodeOf(error)
  if (code === undefined) return CLOSED_MESSAGES.test(messageOf(error))
  return code === 'DB_CLOSED' || CLOSED_CODES.has(code)
}

// Failures that prove a statement did not run to commit: the server refused or ended the session with an
// error (admin/crash shutdown, starting up), or no connection was ever made.
const NOT_APPLIED = new Set(['57P01', '57P02', '57P03', '08001', '08004', 'ECONNREFUSED', 'ENOENT', 'CONNECT_TIMEOUT'])

/**
 * True when the server went away and the statement certainly did not commit, so running it again cannot
 * apply it twice (unlike a connection that closed while waiting for the answer).
 */
export function isLostBeforeCommit(error: unknown): boolean {
  const code = errorCodeOf(error)
  return code !== undefined && NOT_APPLIED.has(code)
}
