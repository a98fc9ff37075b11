import { isLeaklessError } from '../errors.js'

/** Exit codes of every command: 0 done (clean), 1 the answer is "no" (leaks, not an id, no server), 2 error. */
export const EXIT = { ok: 0, no: 1, error: 2 } as const

/** Ends a command with an exit code and a message for stderr. */
export class CliExit extends Error {
  override name = 'CliExit'
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** The message an error is reported with: no stack, the LeaklessError's message as written. */
export function errorMessage(error: unknown): string {
  if (error instanceof CliExit || isLeaklessError(error)) return error.message
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
  return String(error)
}
