/**
 * What `cleanup: 'background'` saves on a test's critical path, against `'after-each'`: each test creates
 * 2 users, 2 sessions and 3 bookings, then hands its cleanup to the worker run (awaited, or queued).
 * Batches of both modes alternate (interleaved, to spread machine noise); medians over every test, and
 * the median of the ratios of each round's pair of batches (robust to load that drifts between rounds).
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/measure-cleanup-modes.ts [tests per batch] [rounds]
 */
import { factories } from '../factories/index.js'
import type { CleanupMode } from '../src/config/index.js'
import { connect, ensureSchema } from '../src/db/index.js'
import { openWorkerRun } from '../src/lifecycle/index.js'
import type { TestScope } from '../src/run/index.js'

const TESTS = Number(process.argv[2] ?? 200)
const ROUNDS = Number(process.argv[3] ?? 5)
const WARMUP = 10

async function graph(scope: TestScope): Promise<void> {
  const f = scope.bind(factories)
  const [parent, instructor] = await f.users.createList(2)
  await f.sessions.createList(2, { userId: parent! })
  await f.bookings.createList(3, { parentId: parent!, instructorId: instructor! })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!

interface Batch {
  /** Per test: from its start until the next test may start (create + cleanup awaited or queued). */
  perTest: number[]
  /** Per test: the whole batch (tests, the queue's drain and the run's close) divided by its tests. */
  wholePerTest: number
  /** The close: the queue's drain (background) and the worker's cleanup and audit. */
  closeMs: number
  /** After each test only: how long each cleanup took (what background takes off the test's path). */
  cleanupMs: number[]
}

async function batch(mode: CleanupMode): Promise<Batch> {
  const worker = await openWorkerRun({ config: { file: null, cleanup: mode }, factories })
  for (let i = 0; i < WARMUP; i++) {
    const scope = worker.run.scope(`warm ${i}`)
    await graph(scope)
    await worker.cleanupTest(scope) // background: the pool opens the queue's connection here
  }
  const perTest: number[] = []
  const cleanupMs: number[] = []
  const started = performance.now()
  for (let i = 0; i < TESTS; i++) {
    const t0 = performance.now()
    const scope = worker.run.scope(`test ${i}`)
    await graph(scope)
    const report = await worker.cleanupTest(scope)
    perTest.push(performance.now() - t0)
    if (report !== null) cleanupMs.push(report.durationMs)
  }
  const closing = performance.now()
  const closed = await worker.close()
  const ended = performance.now()
  if (!closed.clean || closed.background.length > 0) throw new Error(`${mode}: not clean\n${closed.message}`)
  return { perTest, wholePerTest: (ended - started) / TESTS, closeMs: ended - closing, cleanupMs }
}

const db = await connect()
await ensureSchema(db, { migrationsFolder: new URL('../factories/migrations', import.meta.url).pathname })
await db.close()

const modes: CleanupMode[] = ['after-each', 'background']
const results = new Map<CleanupMode, Batch[]>(modes.map((m) => [m, []]))
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which mode goes first.
  for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) results.get(mode)!.push(await batch(mode))
}

const fmt = (ms: number) => ms.toFixed(2)
console.log(`${TESTS} tests per batch, ${ROUNDS} rounds per mode, interleaved; ms`)
console.log('mode        | per test median | p10  | p90   | whole batch per test (median of rounds) | close median')
for (const mode of modes) {
  const batches = results.get(mode)!
  const all = batches.flatMap((b) => b.perTest)
  console.log(
    `${mode.padEnd(11)} | ${fmt(median(all)).padStart(15)} | ${fmt(quantile(all, 0.1))} | ${fmt(quantile(all, 0.9)).padStart(5)} | ${fmt(median(batches.map((b) => b.wholePerTest))).padStart(39)} | ${fmt(median(batches.map((b) => b.closeMs)))}`,
  )
}
console.log(
  `after-each: the cleanup itself, median ${fmt(median(results.get('after-each')!.flatMap((b) => b.cleanupMs)))} ms`,
)
// Paired by round: both modes ran one after the other under much the same load.
const paired = (f: (b: Batch) => number) => {
  const ratios = results.get('background')!.map((b, i) => f(b) / f(results.get('after-each')![i]!))
  return `${median(ratios).toFixed(2)}× (rounds: ${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`
}
console.log(
  `background / after-each, median of paired rounds: per test ${paired((b) => median(b.perTest))}, whole batch ${paired((b) => b.wholePerTest)}`,
)
