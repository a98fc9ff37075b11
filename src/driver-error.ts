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
