/**
 * The identifier grammar (see README "Identifiers"):
 *
 *   id      = runTag "-" process "-" scope "-" seq
 *   runTag  = time(8 base36, ms since epoch, zero-padded) random(6 base36)
 *   process = number | "s" shard "n" number                                     ; short: the registry's number
 *           | ["s" shard] "w" worker "p" pid ["r" reuse] "x" nonce(6 base36)   ; long: no registry; decimal
 *   scope   = base36 counter of the run context, 0 = outside any test
 *   seq     = len(1 base36 digit) digits(len base36 digits)                   ; sorts in issue order
 *
 * Every character is [0-9a-z] or the field delimiter "-". Markers in the process field are letters
 * and its numbers are decimal, so no marker can be read as part of a number. A short process field is
 * a number the run registry handed out once per run (per database); it starts with a digit, or with
 * "s<shard>n", never with "w" or "s<shard>w" as a long one does, so the two forms never read alike.
 */

export const BASE36_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
export const RUN_TAG_TIME_LENGTH = 8
export const RUN_TAG_RANDOM_LENGTH = 6
export const RUN_TAG_LENGTH = RUN_TAG_TIME_LENGTH + RUN_TAG_RANDOM_LENGTH
export const NONCE_LENGTH = 6
/** Longest id (without label) or e-mail local part we issue. */
export const MAX_ID_LENGTH = 64

export const RUN_TAG_PATTERN = /^[0-9a-z]{14}$/
const NUMBER = '(0|[1-9][0-9]{0,9})'
const POSITIVE = '([1-9][0-9]{0,8})'
const LONG_PROCESS = `(?:s${NUMBER})?w${NUMBER}p${NUMBER}(?:r([1-9][0-9]{0,5}))?x([0-9a-z]{${NONCE_LENGTH}})`
// Groups: shard, worker, pid, reuse, nonce (long); shard, number (short, sharded); number (short).
const PROCESS_SOURCE = `(?:${LONG_PROCESS}|s${NUMBER}n${POSITIVE}|${POSITIVE})`
export const PROCESS_FIELD_PATTERN = new RegExp(`^${PROCESS_SOURCE}$`)
/** Largest process number the registry hands out (9 decimal digits); past it a run uses long fields. */
export const MAX_PROCESS_NUMBER = 999_999_999
/** Run tag, process field and scope of an id, up to and including the "-" before the sequence. */
export const SCOPE_PREFIX_PATTERN = new RegExp(
  `^([0-9a-z]{${RUN_TAG_TIME_LENGTH}})([0-9a-z]{${RUN_TAG_RANDOM_LENGTH}})-${PROCESS_SOURCE}-(0|[1-9a-z][0-9a-z]{0,9})-`,
)

export interface ProcessFields {
  /** CI shard number (1-based), or null when the run is not sharded. */
  shard: number | null
  /** The run registry's number for this process (short field), or null (long field: worker, pid, nonce). */
  number: number | null
  /** Worker index reported by the test runner (0 outside a runner). */
  worker: number
  pid: number
  /** How many run contexts with the same shard/worker/pid claimed this run before (pid reuse). */
  reuse: number
  /** Per-context random part of a long field: separates machines that share a run tag without a shard. */
  nonce: string | null
}

export function encodeProcessField(p: ProcessFields): string {
  if (p.number !== null) return p.shard === null ? `${p.number}` : `s${p.shard}n${p.number}`
  const shard = p.shard === null ? '' : `s${p.shard}`
  const reuse = p.reuse === 0 ? '' : `r${p.reuse}`
  return `${shard}w${p.worker}p${p.pid}${reuse}x${p.nonce}`
}

/** The part of the process field that is claimed on this machine to make it unique (no nonce). */
export function processClaimKey(p: Pick<ProcessFields, 'shard' | 'worker' | 'pid'>): string {
  return `${p.shard === null ? '' : `s${p.shard}`}w${p.worker}p${p.pid}`
}

export function encodeRunTagTime(ms: number): string {
  return ms.toString(36).padStart(RUN_TAG_TIME_LENGTH, '0')
}

export function decodeRunTagTime(runTag: string): Date {
  return new Date(parseInt(runTag.slice(0, RUN_TAG_TIME_LENGTH), 36))
}

export function encodeScope(scope: number): string {
  return scope.toString(36)
}

/** Length-prefixed base36: `0` → `10`, `35` → `1z`, `36` → `210`; sorts in numeric order. */
export function encodeSeq(seq: number): string {
  const digits = seq.toString(36)
  return BASE36_ALPHABET[digits.length] + digits
}
