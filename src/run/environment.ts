import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'

/** The test runner a run context lives in. */
export type RunnerKind = 'vitest' | 'playwright' | 'none'

export interface DetectedEnvironment {
  runner: RunnerKind
  worker: number
  shard: number | null
}

const MAX_INDEX = 9_999_999_999

function parseIndex(name: string, raw: string): number {
  const value = raw.trim()
  if (!/^[0-9]{1,10}$/.test(value)) {
    throw new ConfigError(
      'WORKER_INDEX_INVALID',
      `${name}=${JSON.stringify(raw)} is not a worker index: expected a non-negative whole number. Unset it, or pass { worker: <n> } to createRun().`,
      { details: { name, value: raw } },
    )
  }
  return Number(value)
}

/** Parses `LEAKLESS_SHARD` (`"2"` or `"2/4"`, 1-based). */
export function parseShard(raw: string, name = 'LEAKLESS_SHARD'): number {
  const m = /^\s*([0-9]{1,4})(?:\/([0-9]{1,4}))?\s*$/.exec(raw)
  const current = m ? Number(m[1]) : NaN
  const total = m?.[2] === undefined ? Infinity : Number(m[2])
  if (!(current >= 1 && current <= total)) {
    throw new ConfigError(
      'SHARD_INVALID',
      `${name}=${JSON.stringify(raw)} is not a shard: expected "<current>" or "<current>/<total>" with 1 <= current <= total, e.g. "2/4".`,
      { details: { name, value: raw } },
    )
  }
  return current
}

/**
 * Reads the runner, worker index and shard from the environment: Playwright's
 * `TEST_WORKER_INDEX`, Vitest's `VITEST_POOL_ID` / `VITEST_WORKER_ID`, and `LEAKLESS_SHARD`.
 */
export function detectEnvironment(env: NodeJS.ProcessEnv = process.env): DetectedEnvironment {
  // An empty variable counts as unset, as in `TEST_WORKER_INDEX= node …`.
  const read = (name: string) => (env[name] === '' ? undefined : env[name])
  const shardValue = read('LEAKLESS_SHARD')
  const shard = shardValue === undefined ? null : parseShard(shardValue)
  const playwrightWorker = read('TEST_WORKER_INDEX')
  if (playwrightWorker !== undefined) {
    return { runner: 'playwright', worker: parseIndex('TEST_WORKER_INDEX', playwrightWorker), shard }
  }
  const vitestName = read('VITEST_POOL_ID') !== undefined ? 'VITEST_POOL_ID' : 'VITEST_WORKER_ID'
  const vitestWorker = read(vitestName)
  if (vitestWorker !== undefined || env.VITEST === 'true') {
    return { runner: 'vitest', worker: vitestWorker === undefined ? 0 : parseIndex(vitestName, vitestWorker), shard }
  }
  return { runner: 'none', worker: 0, shard }
}

/** Checks a number given in options (worker, shard, pid). */
export function checkIndexOption(
  code: 'WORKER_INDEX_INVALID' | 'SHARD_INVALID' | 'PID_INVALID',
  name: string,
  value: number,
  min: number,
): number {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_INDEX) {
    throw new ConfigError(
      code,
      `createRun({ ${name}: ${describeValue(value)} }) is invalid: ${name} must be a whole number >= ${min}.`,
      { details: { [name]: value } },
    )
  }
  return value
}
