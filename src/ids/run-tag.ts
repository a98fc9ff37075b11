import { customAlphabet } from 'nanoid'
import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'
import {
  BASE36_ALPHABET,
  decodeRunTagTime,
  encodeRunTagTime,
  NONCE_LENGTH,
  RUN_TAG_PATTERN,
  RUN_TAG_RANDOM_LENGTH,
} from './id-format.js'

const randomRunPart = customAlphabet(BASE36_ALPHABET, RUN_TAG_RANDOM_LENGTH)
/** Random base36 characters from a CSPRNG. */
export const randomNonce = customAlphabet(BASE36_ALPHABET, NONCE_LENGTH)

const EARLIEST = Date.UTC(2020, 0, 1)
const CLOCK_SKEW_MS = 24 * 60 * 60 * 1000

/** A new run tag: 8 base36 characters of the current ms time, then 6 random ones. */
export function createRunTag(now: number = Date.now()): string {
  return encodeRunTagTime(now) + randomRunPart()
}

/**
 * Validates a run tag (e.g. from `LEAKLESS_RUN`). Throws `RUN_TAG_INVALID` rather than inventing
 * a new one, because workers that silently disagree on the run tag would not share cleanup.
 */
export function parseRunTag(value: string, source = 'LEAKLESS_RUN', now: number = Date.now()): string {
  const fail = (why: string): never => {
    throw new ConfigError(
      'RUN_TAG_INVALID',
      `${source}=${describeValue(value)} is not a leakless run tag: ${why}. A run tag is 14 lower-case base36 characters (8 of time, 6 random), e.g. ${JSON.stringify(createRunTag(now))}; unset ${source} to let leakless create one.`,
      { details: { value, source } },
    )
  }
  if (typeof value !== 'string' || !RUN_TAG_PATTERN.test(value)) fail('expected exactly 14 characters from [0-9a-z]')
  const time = decodeRunTagTime(value).getTime()
  if (time < EARLIEST || time > now + CLOCK_SKEW_MS) {
    fail(`its time part decodes to ${new Date(time).toISOString()}, which is not a plausible run start`)
  }
  return value
}
