import { errorCodeOf, isConnectionLost, isPoolClosed } from '../driver-error.js'
import { RECONNECT_WINDOW_MS, retryWhile } from '../deadline.js'
import { ConnectionError, isLeaklessError } from '../errors.js'
import { formatTarget } from './connection-errors.js'
import type { DatabaseTarget } from './database.js'

/**
 * Turns a driver error that says the connection is gone into a ConnectionError (`DB_CONNECTION_LOST`,
 * or `DB_CLOSED` when the handle was closed); any other error comes back unchanged.
 */
export function asConnectionFailure(error: unknown, target: DatabaseTarget, doing: string): unknown {
  if (isLeaklessError(error)) return error
  const reason = error instanceof Error ? error.message : String(error)
  const details = { ...target, code: errorCodeOf(error) ?? null, doing }
  if (isConnectionLost(error)) {
    return new ConnectionError(
      'DB_CONNECTION_LOST',
      `PostgreSQL at ${formatTarget(target)} went away while ${doing} (${reason}): the server restarted, crashed or became unreachable. Nothing was half-applied (each statement and transaction is atomic); the next cleanup, or \`leakless sweep\`, finishes the job once the server is back.`,
      { cause: error, details },
    )
  }
  if (isPoolClosed(error)) {
    return new ConnectionError(
      'DB_CLOSED',
      `The connection pool to ${formatTarget(target)} was closed while ${doing} (${reason}). Close the database (db.close(), client.end()) only after run.close() has finished.`,
      { cause: error, details },
    )
  }
  return error
}

/** A ConnectionError (`DB_TIMEOUT`) for a query that got no answer within `ms`. */
export function noAnswer(target: DatabaseTarget, doing: string, ms: number): ConnectionError {
  return new ConnectionError(
    'DB_TIMEOUT',
    `PostgreSQL at ${formatTarget(target)} did not answer within ${ms} ms while ${doing}: the server is stuck, unreachable, or the statement waits on something that does not end. Check the server (pg_stat_activity), or raise queryTimeoutMs for very large cleanups.`,
    { details: { ...target, doing, timeoutMs: ms } },
  )
}

/**
 * Runs `attempt` again while it fails because the server went away, until `withinMs` has passed — for
 * idempotent work only (a cleanup, a registry update, a read). The last failure is rethrown.
 */
export function retryWhileLost<T>(attempt: () => Promise<T>, withinMs = RECONNECT_WINDOW_MS): Promise<T> {
  return retryWhile(attempt, isConnectionLost, withinMs)
}
