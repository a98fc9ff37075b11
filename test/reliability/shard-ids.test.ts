/**
 * Ids of machines that share a run tag (CI shards), which share no claim files: simulated with one state
 * dir per machine, the same worker indexes on every machine and pid 1 everywhere (fresh containers).
 * docs/identifiers.md promises: with a shard number, unique by construction; without one, two contexts
 * collide only if their 6-character nonces match, at most 1 in 36⁶ per pair (union bound over the pairs).
 */
import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NONCE_LENGTH } from '../../src/ids/id-format.js'
import { createRunTag, randomNonce } from '../../src/ids/index.js'
import { createRunSync } from '../../src/run/index.js'
import { memoryTempDir } from '../support/temp-dir.js'
import { countDuplicateIds } from './fixtures/duplicate-ids.js'

const MACHINES = 1000
const WORKERS = 4
const IDS_PER_CONTEXT = 100
/** Values a nonce can take: 36⁶. */
const NONCES = 36 ** NONCE_LENGTH
const pairs = (n: number) => (n * (n - 1)) / 2
/** `2.8 × 10⁻⁶`, as the docs write a probability. */
const scientific = (p: number) => {
  const exponent = Math.floor(Math.log10(p))
  const sup = String(exponent).replace(/[-0-9]/g, (c) => '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'['-0123456789'.indexOf(c)]!)
  return `${(p / 10 ** exponent).toFixed(1)} × 10${sup}`
}

/** `1 998 000`, as the docs group digits. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ' ')

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Every machine's contexts (one per worker, pid 1), each issuing IDS_PER_CONTEXT ids in two scopes. */
function simulate(sharded: boolean) {
  const runTag = createRunTag()
  const base = memoryTempDir('leakless-shards-')
  dirs.push(base)
  const ids: string[] = []
  const byPrefix = new Map<string, number>()
  let total = 0
  let reused = 0
  for (let m = 0; m < MACHINES; m++) {
    for (let worker = 0; worker < WORKERS; worker++) {
      const run = createRunSync({
        runTag,
        worker,
        pid: 1,
        shard: sharded ? m + 1 : null,
        stateDir: join(base, `machine-${m}`),
        env: {},
      })
      reused += run.reuse
      byPrefix.set(run.prefix, (byPrefix.get(run.prefix) ?? 0) + 1)
      for (const scope of [run.scope('a'), run.scope('b')]) {
        for (let i = 0; i < IDS_PER_CONTEXT / 2; i++) ids.push(i % 2 === 0 ? scope.id() : scope.email())
      }
      total += IDS_PER_CONTEXT
    }
  }
  const collidingPairs = [...byPrefix.values()].reduce((n, k) => n + pairs(k), 0)
  return { total, duplicates: countDuplicateIds(ids), contexts: MACHINES * WORKERS, collidingPairs, reused }
}

describe('ids across machines sharing a run tag', () => {
  it(`${MACHINES} shards × ${WORKERS} workers, all pid 1, with shard numbers: 0 duplicates by construction`, () => {
    const r = simulate(true)
    console.log(
      `sharded: ${MACHINES} machines × ${WORKERS} workers (pid 1), ${r.total} ids, ${r.duplicates} duplicates, ${r.collidingPairs} colliding process prefixes`,
    )
    // Every machine claims alone: nothing but the shard field tells its contexts from another machine's.
    expect(r.reused).toBe(0)
    expect(r.collidingPairs).toBe(0)
    expect(r.duplicates).toBe(0)
    expect(r.total).toBe(MACHINES * WORKERS * IDS_PER_CONTEXT)
  })

  it(`without shard numbers, only equal nonces make equal ids, within the documented bound`, () => {
    const r = simulate(false)
    // Pairs of contexts with equal worker, pid and reuse on different machines: each may share a nonce.
    const candidatePairs = WORKERS * pairs(MACHINES)
    const bound = candidatePairs / NONCES
    console.log(
      `unsharded: ${MACHINES} machines × ${WORKERS} workers (pid 1), ${r.total} ids, ${r.duplicates} duplicates, ${r.collidingPairs} colliding process prefixes of ${candidatePairs} candidate pairs; documented bound P ≤ ${candidatePairs} / 36^${NONCE_LENGTH} = ${scientific(bound)} per run`,
    )
    expect(r.reused).toBe(0)
    // A duplicate id means two contexts with one process prefix (equal nonces), and then all their ids repeat.
    expect(r.duplicates).toBe(r.collidingPairs * IDS_PER_CONTEXT)
    // The expected number of colliding pairs is `bound` (< 10⁻³): more than 2 has a probability below 10⁻⁹.
    expect(r.collidingPairs).toBeLessThanOrEqual(2)
  })

  it('the nonce collides at the documented rate of 1 in 36⁶ per pair (2 000 000 nonces measured)', () => {
    const n = 2_000_000
    const values = new Float64Array(n)
    const perPosition = Array.from({ length: NONCE_LENGTH }, () => new Array<number>(36).fill(0))
    for (let i = 0; i < n; i++) {
      const nonce = randomNonce()
      if (!/^[0-9a-z]{6}$/.test(nonce)) throw new Error(`not a nonce: ${nonce}`)
      values[i] = parseInt(nonce, 36)
      if (i < 360_000) for (let p = 0; p < NONCE_LENGTH; p++) perPosition[p]![parseInt(nonce[p]!, 36)]!++
    }
    values.sort()
    let collisions = 0
    for (let i = 1, run = 1; i <= n; i++) {
      if (i < n && values[i] === values[i - 1]) run++
      else {
        collisions += pairs(run)
        run = 1
      }
    }
    const expected = pairs(n) / NONCES
    const sigma = Math.sqrt(expected)
    const rate = collisions / pairs(n)
    console.log(
      `nonces: ${n} drawn, ${collisions} colliding pairs (expected ${expected.toFixed(0)} ± ${sigma.toFixed(0)} at 1 in 36^${NONCE_LENGTH}); measured per-pair rate ${rate.toExponential(2)}, documented ${(1 / NONCES).toExponential(2)}`,
    )
    // Poisson: ±6σ fails a fair generator once in ~10⁹ runs; an alphabet of 32 of the 36 characters would double the count.
    expect(Math.abs(collisions - expected)).toBeLessThan(6 * sigma)
    // Every character equally likely at every position (each count within 6σ of 10 000).
    for (const counts of perPosition) {
      for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(6 * Math.sqrt(10_000))
    }
  })

  it('docs/identifiers.md states the bound this suite checks', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/identifiers.md'), 'utf8').replace(/\s+/g, ' ')
    expect(doc).toContain(`1 in 36⁶ ≈ ${scientific(NONCES)}`)
    // Its worked example: 4 unsharded machines × 1 000 contexts, every context's key on all 4 machines.
    expect(doc).toContain(`${grouped(pairs(4) * 1000)} pairs: P ≤ ${scientific((pairs(4) * 1000) / NONCES)} per run`)
    // And this suite's case.
    const candidatePairs = WORKERS * pairs(MACHINES)
    expect(doc).toContain(`${grouped(candidatePairs)} pairs, P ≤ ${scientific(candidatePairs / NONCES)} per run`)
  })
})
