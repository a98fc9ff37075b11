import { InputError } from '../errors.js'
import { decodeRunTagTime, RUN_TAG_LENGTH } from './id-format.js'

/** Length of every handle: a run tag and three fixed-width base36 counters. */
export const HANDLE_LENGTH = 20
const WIDTH = 2
const LIMIT = 36 ** WIDTH
const HANDLE_PATTERN = /^[0-9a-z]{20}$/

/** What a handle says about who made it. */
export interface DecodedHandle {
  handle: string
  runTag: string
  time: Date
  /** The run registry's number of the process that issued it. */
  process: number
  /** Test scope number within that process; 0 = outside any test. */
  scope: number
  seq: number
}

const field = (n: number) => n.toString(36).padStart(WIDTH, '0')

/**
 * `<runTag><process><scope><seq>`: 20 characters of [0-9a-z], for columns too short for an id (a
 * 20-character username). Unique within a database by construction: run tag, the registry's process
 * number, the scope and a per-scope counter, each at a fixed width.
 */
export function encodeHandle(runTag: string, process: number, scope: number, seq: number): string {
  const over = process >= LIMIT ? 'process number' : scope >= LIMIT ? 'test scope' : seq >= LIMIT ? 'handle' : null
  if (over !== null) {
    throw new InputError(
      'HANDLE_RANGE',
      `scope.handle(): this ${over} is past the ${LIMIT - 1} a 20-character handle can encode (process ${process}, scope ${scope}, handle ${seq}). Use scope.id() where the column allows 24 characters, or issue fewer handles per test.`,
      { details: { process, scope, seq } },
    )
  }
  return runTag + field(process) + field(scope) + field(seq)
}

/**
 * Decodes a handle (`scope.handle()`); `null` for anything that is not 20 characters of [0-9a-z]. Any
 * such string decodes: use it on values you know to be handles.
 *
 * @example
 * decodeHandle(user.username)?.scope
 */
export function decodeHandle(value: string): DecodedHandle | null {
  if (typeof value !== 'string' || !HANDLE_PATTERN.test(value)) return null
  const runTag = value.slice(0, RUN_TAG_LENGTH)
  const at = (i: number) => parseInt(value.slice(RUN_TAG_LENGTH + i * WIDTH, RUN_TAG_LENGTH + (i + 1) * WIDTH), 36)
  return { handle: value, runTag, time: decodeRunTagTime(runTag), process: at(0), scope: at(1), seq: at(2) }
}
