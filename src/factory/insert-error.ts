import { driverError, errorCodeOf, isConnectionLost, isPoolClosed, type DriverError } from '../driver-error.js'
import { ConnectionError, InsertError, isLeaklessError, type LeaklessError, type LeaklessErrorCode } from '../errors.js'

const KINDS: Record<string, { code: LeaklessErrorCode; what: string; hint: string }> = {
  '23505': {
    code: 'INSERT_UNIQUE_VIOLATION',
    what: 'unique violation',
    hint: 'Derive unique columns from f.id() or f.email(), or pass a value no other row has.',
  },
  '23503': {
    code: 'INSERT_FOREIGN_KEY_VIOLATION',
    what: 'foreign key violation',
    hint: 'Create the parent first (f.ref(parentFactory) does it) or pass the id of a row that exists.',
  },
  '23502': {
    code: 'INSERT_NOT_NULL_VIOLATION',
    what: 'not-null violation',
    hint: 'Give the column a value in the factory defaults or in the overrides.',
  },
  '23514': {
    code: 'INSERT_CHECK_VIOLATION',
    what: 'check violation',
    hint: 'Pass a value the check constraint accepts.',
  },
}

/**
 * Turns a failed factory insert into an {@link InsertError} naming factory, table, constraint, column and
 * value — or a ConnectionError when the server went away (or the pool was closed) during the insert.
 */
export function toInsertError(error: unknown, factory: string, table: string): LeaklessError {
  if (isLeaklessError(error)) return error
  const lost = isConnectionLost(error)
  if (lost || isPoolClosed(error)) {
    return new ConnectionError(
      lost ? 'DB_CONNECTION_LOST' : 'DB_CLOSED',
      `Factory "${factory}" could not insert into ${table}: ${(error as Error).message} (${lost ? 'the server went away: it restarted, crashed or became unreachable' : 'the connection pool was closed'}). If the insert was committed before the connection dropped, its rows carry the test's tag (or their keys were journaled in the same statement), so the test's cleanup deletes them either way.`,
      { cause: error, details: { factory, table, code: errorCodeOf(error) ?? null } },
    )
  }
  const cause: DriverError = driverError(error) ?? ((error ?? {}) as DriverError)
  const kind = cause.code === undefined ? undefined : KINDS[cause.code]
  const constraint = cause.constraint_name ?? cause.constraint ?? null
  const key = /Key \((.+?)\)=\((.*)\)/.exec(cause.detail ?? '')
  const column = key?.[1] ?? cause.column_name ?? cause.column ?? null
  const value = key?.[2] ?? null
  const on = [
    constraint && `on ${constraint}`,
    column && `(${column}${value === null ? '' : ` = ${JSON.stringify(value)}`})`,
  ]
    .filter(Boolean)
    .join(' ')
  const message = kind
    ? `Factory "${factory}" could not insert into ${table}: ${kind.what}${on ? ` ${on}` : ''}. ${kind.hint}`
    : `Factory "${factory}" could not insert into ${table}: ${cause.message ?? String(error)}.`
  return new InsertError(kind?.code ?? 'INSERT_FAILED', message, {
    cause: cause.code === undefined ? error : cause,
    details: { factory, table, constraint, column, value, sqlState: cause.code ?? null },
  })
}
