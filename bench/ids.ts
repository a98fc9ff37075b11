/** ids/s of scope.id() against crypto.randomUUID(), nanoid and uuid v7, in one warmed-up process. */
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nanoid } from 'nanoid'
import { v7 as uuidv7 } from 'uuid'
import { createRun } from '../src/index.js'
import { median, printTable, writeResult } from './lib/measure.js'

const ROUND_SECONDS = 0.1
const ROUNDS = 11
const WARMUP_ROUNDS = 3

/** Each generator's output is consumed the same way: the last character is read, which flattens strings built by concatenation. */
function opsPerSec(generate: () => string): number {
  let sink = 0
  const rates: number[] = []
  // Calibrate the round size so that every generator runs for about ROUND_SECONDS a round.
  let ops = 10_000
  const calibrate = process.hrtime.bigint()
  for (let i = 0; i < ops; i++) sink += generate().length
  ops = Math.max(10_000, Math.round((ops * ROUND_SECONDS) / (Number(process.hrtime.bigint() - calibrate) / 1e9)))
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) {
      const value = generate()
      sink += value.charCodeAt(value.length - 1)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if (round >= WARMUP_ROUNDS) rates.push(ops / seconds)
  }
  if (sink === 42) console.log('') // keeps the loop observable
  return median(rates)
}

export async function run(): Promise<boolean> {
  const leakless = await createRun({ stateDir: join(tmpdir(), 'leakless-bench') })
  const scope = leakless.scope('bench')
  const contenders: Array<[string, () => string]> = [
    ['scope.id()', () => scope.id()],
    ['crypto.randomUUID()', () => randomUUID()],
    ['nanoid()', () => nanoid()],
    ['uuid v7', () => uuidv7()],
  ]
  const opsPerSecond: Record<string, number> = {}
  // Interleave contenders round-robin twice so drift in machine load hits them all alike.
  for (let pass = 0; pass < 2; pass++) {
    for (const [name, generate] of contenders) {
      const rate = opsPerSec(generate)
      opsPerSecond[name] = Math.max(opsPerSecond[name] ?? 0, rate)
    }
  }
  const vsRandomUUID = opsPerSecond['scope.id()']! / opsPerSecond['crypto.randomUUID()']!
  printTable(
    `ids: ${ROUNDS} rounds of ~${ROUND_SECONDS * 1000} ms after ${WARMUP_ROUNDS} warm-up rounds, median ops/s (best of 2 interleaved passes)`,
    contenders.map(([name]) => ({
      generator: name,
      'ops/s': Math.round(opsPerSecond[name]!),
      'vs randomUUID': opsPerSecond[name]! / opsPerSecond['crypto.randomUUID()']!,
    })),
  )
  const result = writeResult({
    name: 'ids',
    config: { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, warmupRounds: WARMUP_ROUNDS, passes: 2 },
    metrics: { opsPerSec: opsPerSecond },
    ratios: {
      vsRandomUUID,
      vsNanoid: opsPerSecond['scope.id()']! / opsPerSecond['nanoid()']!,
      vsUuidV7: opsPerSecond['scope.id()']! / opsPerSecond['uuid v7']!,
    },
    targets: { vsRandomUUID: '>= 4' },
    labels: {
      vsRandomUUID: 'scope.id() ids/s vs crypto.randomUUID()',
      vsNanoid: 'scope.id() ids/s vs nanoid()',
      vsUuidV7: 'scope.id() ids/s vs uuid v7',
    },
  })
  return result.pass
}
