import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'

/** FNV-1a over the run tag and the scope name: a stable 32-bit faker seed per test. */
export function deriveSeed(runTag: string, name: string): number {
  let hash = 0x811c9dc5
  const text = `${runTag}\u0000${name}`
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Checks a seed given in options. */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ConfigError(
      'SEED_INVALID',
      `createRun({ seed: ${describeValue(seed)} }) is invalid: a seed is a whole number from 0 to 4294967295.`,
      {
        details: { seed },
      },
    )
  }
  return seed
}

/** Reads `LEAKLESS_SEED` (replays a failing test's data); null when unset. */
export function seedFromEnv(env: NodeJS.ProcessEnv): number | null {
  const raw = env.LEAKLESS_SEED
  if (raw === undefined || raw === '') return null
  if (!/^[0-9]{1,10}$/.test(raw.trim()) || Number(raw) > 0xffffffff) {
    throw new ConfigError(
      'SEED_INVALID',
      `LEAKLESS_SEED=${JSON.stringify(raw)} is not a seed: use the number a failing test printed (0 to 4294967295), or unset it.`,
      { details: { value: raw } },
    )
  }
  return Number(raw)
}
