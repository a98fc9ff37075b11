/**
 * The soak (`npm run test:soak -- --minutes 5`; not part of `npm test`): for the given time, one
 * long-lived worker runs booking tests back to back while churn workers do the same and are SIGKILLed at
 * random and restarted, and a sweep runs every few seconds. The long-lived worker's heap (after a full
 * GC) and median time per test are printed at the start and the end; the soak fails when either ends
 * above 1.5× its start, when a sweep touches a live process, or when anything of the run is left.
 *
 * Options: --minutes (5), --churn workers (2), --window seconds between figures (5).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { isLeaseHeld } from '../../src/cleanup/lease.js'
import { connect, createRunTag, ensureSchema, sweep } from '../../src/index.js'
import { readRuns } from '../../src/registry/registry.js'

const root = resolve(import.meta.dirname, '../..')
const worker = resolve(import.meta.dirname, 'fixtures/soak-worker.ts')
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    churn: { type: 'string', default: '2' },
    window: { type: 'string', default: '5' },
  },
})
const minutes = Number(args.minutes)
const churnWorkers = Number(args.churn)
const windowMs = Number(args.window) * 1000
if (!(minutes > 0) || !(churnWorkers >= 0) || !(windowMs > 0)) {
  console.error('usage: npm run test:soak -- [--minutes 5] [--churn 2] [--window 5]')
  process.exit(2)
}
const LIMIT = 1.5

interface Worker {
  child: ChildProcess
  ready: Promise<string>
  /** What it printed, stdout and stderr. */
  stdout(): string
  closed: Promise<number | null>
}

function startWorker(mode: 'long' | 'churn', env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', worker], {
    cwd: root,
    env: { ...env, MODE: mode, WINDOW_MS: String(windowMs) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stderr!.on('data', (chunk) => (stdout += chunk))
  const closed = new Promise<number | null>((done) => child.once('close', (code) => done(code)))
  const ready = new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const m = /^READY (\S+)$/m.exec(stdout)
      if (m) done(m[1]!)
    })
    void closed.then((code) => fail(new Error(`${mode} worker exited (${code}) before READY: ${stdout}`)))
  })
  return { child, ready, closed, stdout: () => stdout }
}

interface Stats {
  tests: number
  testsPerSecond: number
  medianMs: number
  p95Ms: number
  heapMB: number
  ledger: number
}
const statsOf = (stdout: string): Stats[] =>
  [...stdout.matchAll(/^STATS (.+)$/gm)].map((m) => JSON.parse(m[1]!) as Stats)
const show = (s: Stats) =>
  `heap ${s.heapMB.toFixed(1)} MB, ${s.medianMs.toFixed(2)} ms/test median (p95 ${s.p95Ms.toFixed(2)}), ${s.testsPerSecond.toFixed(0)} tests/s, ledger ${s.ledger} entries`

const db = await connect()
await ensureSchema(db, { migrationsFolder: resolve(root, 'factories/migrations') })
const runTag = createRunTag()
const env = { ...process.env, LEAKLESS_RUN: runTag }
const failures: string[] = []
const started = Date.now()
const deadline = started + minutes * 60_000
console.log(`soak: ${minutes} min, run ${runTag}, 1 long-lived worker, ${churnWorkers} churn workers killed at random`)

const long = startWorker('long', env)
const longPrefix = await long.ready
void long.closed.then((code) => {
  if (Date.now() < deadline) failures.push(`the long-lived worker exited (${code}) early: ${long.stdout()}`)
})

let kills = 0
const churn = async () => {
  while (Date.now() < deadline) {
    const w = startWorker('churn', env)
    await w.ready
    await sleep(Math.min(1000 + Math.random() * 7000, Math.max(0, deadline - Date.now())))
    w.child.kill('SIGKILL')
    await w.closed
    if (w.child.signalCode === 'SIGKILL') kills++
    else failures.push(`a churn worker died on its own (${w.child.exitCode}): ${w.stdout()}`)
  }
}

let sweeps = 0
let sweptProcesses = 0
let sweptRows = 0
const sweeper = async () => {
  while (Date.now() < deadline) {
    await sleep(Math.min(3000, Math.max(0, deadline - Date.now())))
    const report = await sweep({ db, olderThanMs: 0, runTag })
    sweeps++
    sweptProcesses += report.swept.length
    sweptRows += report.swept.reduce((n, p) => n + Object.values(p.deleted).reduce((a, b) => a + b, 0), 0)
    if (report.swept.some((p) => p.prefix === longPrefix)) failures.push('a sweep took the long-lived worker')
  }
}

const progress = setInterval(() => {
  const last = statsOf(long.stdout()).at(-1)
  const elapsed = Math.round((Date.now() - started) / 1000)
  if (last) console.log(`  ${elapsed} s: ${show(last)}; ${kills} kills, ${sweptRows} rows swept`)
}, 30_000)

await Promise.all([...Array.from({ length: churnWorkers }, churn), sweeper()])
clearInterval(progress)

// The end: the last killed workers' leases go, a last sweep, then the long-lived worker closes its run.
for (let i = 0; i < 100; i++) {
  const runs = await readRuns(db, runTag)
  const open = runs.flatMap((r) => r.processes.filter((p) => p.closedAt === null && p.prefix !== longPrefix))
  const held = await Promise.all(open.map((p) => isLeaseHeld(db, p.prefix)))
  if (!held.some(Boolean)) break
  await sleep(100)
}
const last = await sweep({ db, olderThanMs: 0, runTag })
sweptProcesses += last.swept.length
sweptRows += last.swept.reduce((n, p) => n + Object.values(p.deleted).reduce((a, b) => a + b, 0), 0)
long.child.stdin!.end()
await long.closed
const closed = /^CLOSED (.+)$/m.exec(long.stdout())
if (!closed) failures.push(`the long-lived worker did not close its run: ${long.stdout().slice(-2000)}`)
else if (!(JSON.parse(closed[1]!) as { clean: boolean }).clean) failures.push('the long-lived worker closed unclean')

const [left] = await db.execute<{ n: number }>(
  `select (select count(*) from users where starts_with(id, $1) or starts_with(email, $1))
    + (select count(*) from sessions where starts_with(id, $1))
    + (select count(*) from bookings where starts_with(id, $1)) as n`,
  [`${runTag}-`],
)
if (Number(left!.n) !== 0) failures.push(`${left!.n} rows of the run left`)
if ((await readRuns(db, runTag)).length !== 0) failures.push('the registry still lists the run')
await db.close()

// Figures: the second window (the first warms up) against the last.
const windows = statsOf(long.stdout())
const total = windows.reduce((n, s) => n + s.tests, 0)
console.log(
  `soak done in ${((Date.now() - started) / 60_000).toFixed(1)} min: the long-lived worker ran ${total} tests; ` +
    `${kills} churn workers SIGKILLed, ${sweeps + 1} sweeps removed ${sweptRows} rows of ${sweptProcesses} dead processes`,
)
if (windows.length < 3) failures.push(`only ${windows.length} figures from the long-lived worker: soak longer`)
else {
  const [start, end] = [windows[1]!, windows.at(-1)!]
  console.log(`start: ${show(start)}`)
  console.log(`end:   ${show(end)}`)
  const heap = end.heapMB / start.heapMB
  const time = end.medianMs / start.medianMs
  console.log(`end/start: heap ${heap.toFixed(2)}×, time per test ${time.toFixed(2)}× (limit ${LIMIT}×)`)
  if (heap > LIMIT)
    failures.push(`heap grew ${heap.toFixed(2)}× (${start.heapMB.toFixed(1)} → ${end.heapMB.toFixed(1)} MB)`)
  if (time > LIMIT) {
    failures.push(
      `time per test grew ${time.toFixed(2)}× (${start.medianMs.toFixed(2)} → ${end.medianMs.toFixed(2)} ms)`,
    )
  }
}
for (const failure of failures) console.error(`FAIL: ${failure}`)
process.exit(failures.length === 0 ? 0 : 1)
