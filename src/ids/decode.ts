import { BASE36_ALPHABET, decodeRunTagTime, SCOPE_PREFIX_PATTERN } from './id-format.js'

/** What an id says about who made it. */
export interface DecodedId {
  /** The full identifier (the part of the value that is the id). */
  id: string
  runTag: string
  /** When the run started (from the run tag). */
  time: Date
  shard: number | null
  /** The run registry's number for the process (a short process field); null in a long field. */
  process: number | null
  /** Worker index: in a long process field; for a short one the run registry knows it (audit reports fill it in). */
  worker: number | null
  /** Process id: in a long process field; for a short one the run registry knows it. */
  pid: number | null
  /** Non-zero when an earlier context of this run on this machine had the same shard, worker and pid. */
  reuse: number
  /** The random part of a long process field; null in a short one. */
  nonce: string | null
  /** Test scope number within the run context; 0 = outside any test. */
  scope: number
  /** Sequence number within the scope. */
  seq: number
  /** Prefix shared by every id of this run: `<runTag>-`. */
  runPrefix: string
  /** Prefix shared by every id of this run context (worker process): `<runTag>-<process>-`. */
  processPrefix: string
  /** Prefix shared by every id of this test scope: `<runTag>-<process>-<scope>-`. */
  scopePrefix: string
}

const ALNUM = /[0-9a-z]/

/**
 * Decodes an id, or a value that starts with one (an e-mail, a slug); `null` for anything else.
 *
 * @example
 * decodeId('mi8d0k2wq3z9xa-3-1-10.parent@example.test')?.process // 3
 * decodeId('mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-10')?.worker // 3
 */
export function decodeId(value: string): DecodedId | null {
  if (typeof value !== 'string') return null
  const m = SCOPE_PREFIX_PATTERN.exec(value)
  if (m === null) return null
  const scopePrefix = m[0]
  // Not parseInt: it reads "A" as 10, and an id is lower case.
  const length = BASE36_ALPHABET.indexOf(value.charAt(scopePrefix.length) || '0')
  if (!(length >= 1)) return null
  const start = scopePrefix.length + 1
  const digits = value.slice(start, start + length)
  if (digits.length !== length || !/^[0-9a-z]+$/.test(digits)) return null
  if (length > 1 && digits.charAt(0) === '0') return null
  const seq = parseInt(digits, 36)
  // Past 2^53 a number no longer holds the sequence: it would decode to another id.
  if (!Number.isSafeInteger(seq)) return null
  const next = value.charAt(start + length)
  if (next !== '' && ALNUM.test(next)) return null
  const [, time, random, longShard, worker, pid, reuse, nonce, shortShard, shardedNumber, plainNumber, scope] =
    m as unknown as Array<string | undefined>
  const runTag = time! + random!
  const processEnd = scopePrefix.length - scope!.length - 1
  const shard = longShard ?? shortShard
  const number = shardedNumber ?? plainNumber
  const long = number === undefined
  return {
    id: value.slice(0, start + length),
    runTag,
    time: decodeRunTagTime(runTag),
    shard: shard === undefined ? null : Number(shard),
    process: long ? null : Number(number),
    worker: long ? Number(worker) : null,
    pid: long ? Number(pid) : null,
    reuse: reuse === undefined ? 0 : Number(reuse),
    nonce: long ? nonce! : null,
    scope: parseInt(scope!, 36),
    seq,
    runPrefix: `${runTag}-`,
    processPrefix: value.slice(0, processEnd),
    scopePrefix,
  }
}

/** True when the value is, or starts with, a leakless id. */
export function isTestValue(value: unknown): boolean {
  return typeof value === 'string' && decodeId(value) !== null
}
