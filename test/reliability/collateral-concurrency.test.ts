/**
 * No collateral damage under concurrency, in the reference domain's own tables: 10 000 hostile rows
 * that no run owns (fixtures/foreign-rows.ts), built around the live workers' real prefixes, while 8
 * worker processes of one run make and clean up booking graphs at once (fixtures/collateral-worker.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, createRun, createRunTag, type Database, type RunContext } from '../../src/index.js'
import { readRuns } from '../../src/registry/registry.js'
import { bundle } from '../support/bundle.js'
import { memoryTempDir } from '../support/temp-dir.js'
import {
  deleteForeignRows,
  foreignChecksum,
  foreignRows,
  hostileStems,
  insertForeignRows,
  textValues,
  type ForeignRows,
} from './fixtures/foreign-rows.js'

const root = resolve(import.meta.dirname, '../..')
const WORKERS = 8
const TESTS = 100
const FOREIGN = 10_000

interface WorkerResult {
  prefix: string
  tests: number
  errors: Array<{ test: number; code: string | null; message: string }>
  retries: number
  maxAttempts: number
  testsPerSecond: number
  clean: boolean
  closeDeleted: number
}

interface Worker {
  child: ChildProcess
  ready: Promise<string>
  result: Promise<WorkerResult>
}

function startWorker(script: string, worker: number, runTag: string): Worker {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, LEAKLESS_RUN: runTag, WORKER: String(worker), TESTS: String(TESTS) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)))
  const ready = new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const m = /^READY (\S+)$/m.exec(stdout)
      if (m) done(m[1]!)
    })
    void exited.then((code) => fail(new Error(`worker ${worker} exited (${code}) before READY: ${stderr}`)))
  })
  const result = exited.then((code) => {
    const m = /^RESULT (.+)$/m.exec(stdout)
    if (code !== 0 || !m) throw new Error(`worker ${worker} exited ${code}: ${stderr}${stdout}`)
    return JSON.parse(m[1]!) as WorkerResult
  })
  return { child, ready, result }
}

describe('no collateral damage under concurrency', () => {
  const bundleDir = memoryTempDir('leakless-collateral-')
  const runTag = createRunTag()
  let db: Database
  let otherRun: RunContext | undefined
  let rows: ForeignRows | undefined
  let activityIds: string[] = []
  const workers: Worker[] = []

  beforeAll(async () => {
    db = await connect()
    // Another run, alive: its ids among the foreign values are its own, not ours.
    otherRun = await createRun({ db, runTag: createRunTag(), worker: 1 })
  })

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL')
    if (db) {
      if (rows) await deleteForeignRows(db, rows, activityIds)
      await otherRun?.close().catch(() => undefined)
      await db.close()
    }
    rmSync(bundleDir, { recursive: true, force: true })
  })

  it(`${FOREIGN} hostile foreign rows stay byte-for-byte unchanged while ${WORKERS} processes × ${TESTS} tests make and clean booking graphs`, async () => {
    const { worker: script } = await bundle(
      { worker: join(root, 'test/reliability/fixtures/collateral-worker.ts') },
      bundleDir,
    )
    for (let w = 1; w <= WORKERS; w++) workers.push(startWorker(script, w, runTag))
    const prefixes = await Promise.all(workers.map((w) => w.ready))

    // Around the real prefixes of the live workers: siblings, cut, padded, upper-cased ones.
    const stems = hostileStems(runTag, prefixes, otherRun!.prefix)
    rows = foreignRows(stems, FOREIGN)
    const values = textValues(rows)
    for (const prefix of prefixes) expect(values.filter((v) => v.startsWith(prefix))).toEqual([])
    activityIds = await insertForeignRows(db, rows)
    const before = await foreignChecksum(db, rows, activityIds)
    expect(Object.values(before).map((sum) => Number(sum.split(' ')[1]))).toEqual([4000, 2000, 2000, 2000])

    const started = performance.now()
    for (const w of workers) w.child.stdin!.end('go\n')
    const results = await Promise.all(workers.map((w) => w.result))
    const seconds = (performance.now() - started) / 1000

    const retries = results.reduce((n, r) => n + r.retries, 0)
    console.log(
      `${WORKERS} workers × ${TESTS} tests in ${seconds.toFixed(1)} s beside ${FOREIGN} foreign rows (${stems.length} hostile stems): ` +
        `${results.reduce((n, r) => n + r.tests, 0)} cleanups, ${retries} deadlock/serialization retries ` +
        `(most attempts of one cleanup: ${Math.max(...results.map((r) => r.maxAttempts))}), ` +
        `${results.reduce((n, r) => n + r.errors.length, 0)} errors reaching a test; ` +
        `tests/s per worker: ${results.map((r) => r.testsPerSecond.toFixed(0)).join(' ')}`,
    )
    // The foreign rows: all there, byte for byte.
    expect(await foreignChecksum(db, rows, activityIds)).toEqual(before)
    for (const r of results) {
      expect(r.errors, r.prefix).toEqual([])
      expect(r.tests).toBe(TESTS)
      expect(r.clean, r.prefix).toBe(true)
      expect(r.closeDeleted, r.prefix).toBe(0)
    }
    expect(results.map((r) => r.prefix).sort()).toEqual([...prefixes].sort())

    // Nothing of the run's workers left, in any column that could hold it; the registry forgot the run.
    const perPrefix = await db.execute<{ n: number }>(
      `select (select count(*) from users where starts_with(id, p) or starts_with(email, p))
        + (select count(*) from sessions where starts_with(id, p) or starts_with(user_id, p))
        + (select count(*) from bookings where starts_with(id, p) or starts_with(parent_id, p) or starts_with(instructor_id, p))
        + (select count(*) from activity where starts_with(user_id, p)) as n
      from unnest($1::text[]) as p`,
      [prefixes],
    )
    const left = perPrefix.reduce((n, row) => n + Number(row.n), 0)
    expect(left).toBe(0)
    expect(await readRuns(db, runTag)).toEqual([])
  }, 300_000) // Beside the browser suites of `npm test` on 2 cores it took 59 s (5–6 s alone): room for a slower machine.
})
