/** A rule of the app said no; `status` is the HTTP status the routes answer with. */
export class AppError extends Error {
  override readonly name: string = 'AppError'
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    message: string,
  ) {
    super(message)
  }
}

/** The instructor already has a booking at that time (the unique key on instructor and slot). */
export class SlotTakenError extends AppError {
  override readonly name = 'SlotTakenError'
  constructor() {
    super(409, 'That slot is already taken')
  }
}

/** Someone signed up with that e-mail before. */
export class EmailTakenError extends AppError {
  override readonly name = 'EmailTakenError'
  constructor() {
    super(409, 'That e-mail is already registered')
  }
}

/**
 * The constraint a unique violation (23505) hit, or null for any other error. drizzle wraps the
 * driver's error: the code is on `cause` (postgres.js names the constraint `constraint_name`, PGlite `constraint`).
 */
export function uniqueViolation(error: unknown): string | null {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const { code, constraint_name, constraint } = e as Record<string, unknown>
    if (code === '23505') return String(constraint_name ?? constraint ?? '')
  }
  return null
}
