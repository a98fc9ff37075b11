/**
 * What each isolation mode costs, measured in one run with its rounds interleaved: per worker (a run
 * context opened and closed, as each Vitest test file or Playwright worker does; 'database' also once cold,
 * building its template) and per test (a small graph — 2 users, 2 sessions, 3 bookings — created, then
 * cleaned up, or rolled back under 'transaction'). The README's "Choosing an isolation strategy" quotes it.
 */
import { cpSync, mkdtempSync, rmSync, appendFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { factories } from '../factories/index.js'
import { connect } from '../src/db/index.js'
import { openWorkerRun, type WorkerRun } from '../src/lifecycle/index.js'
import { migrationsHash, templateDatabaseName } from '../src/db/worker-database.js'
import { dropTemplates, TEMPLATE_UNUSED_MS } from '../src/registry/created-databases.js'
import { REGISTRY_VERSION } from '../src/registry/registry.js'
import { openTestTransaction } from '../src/vitest/test-transaction.js'
import type { Isolation } from '../src/config/index.js'
import { median, printTable, writeResult } from './lib/measure.js'

const WORKER_ROUNDS = 9
const TESTS = 60
const migrations = fileURLToPath(new URL('../factories/migrations', import.meta.url))
const MODES: Isolation[] = ['shared', 'transaction', 'schema', 'database']

const openWorker = (isolation: Isolation, folder = migrations) =>
  openWorkerRun({ config: { file: null, isolation, migrations: folder }, factories })

/** One test: the graph created through the factories, then its cleanup (or rollback). */
async function oneTest(worker: WorkerRun, isolation: Isolation, i: number): Promise<number> {
  const start = process.hrtime.bigint()
  const transaction = isolation === 'transaction' ? await openTestTransaction(worker.run, worker.db.drizzle) : null
  const scope = worker.run.scope(`test ${i}`, transaction ? { db: transaction.tx } : {})
  const f = scope.bind(factories)
  const [parent, instructor] = await f.users.createList(2)
  await f.sessions.createList(2, { userId: parent!.id })
  await f.bookings.createList(3, { parentId: parent!.id, instructorId: instructor!.id })
  if (transaction) {
    await transaction.rollback()
    scope.rolledBack()
  } else await scope.cleanup()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** A copy of the migrations with a comment added: another hash, so its template is built from scratch. */
function freshMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakless-bench-migrations-'))
  cpSync(migrations, dir, { recursive: true })
  const first = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()[0]!
  appendFileSync(join(dir, first), `\n-- bench ${Date.now()}\n`)
  return dir
}

export async function run(): Promise<boolean> {
  const perWorker = new Map<Isolation, number[]>(MODES.map((m) => [m, []]))
  const perTest = new Map<Isolation, number[]>(MODES.map((m) => [m, []]))
  // Warm-up: every mode once (the template of 'database' is built here if it was not yet).
  for (const mode of MODES) await (await openWorker(mode)).close()
  for (let round = 0; round < WORKER_ROUNDS; round++) {
    for (const mode of round % 2 ? [...MODES].reverse() : MODES) {
      const start = process.hrtime.bigint()
      await (await openWorker(mode)).close()
      perWorker.get(mode)!.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
  const workers = new Map<Isolation, WorkerRun>()
  try {
    for (const mode of MODES) workers.set(mode, await openWorker(mode))
    for (let i = 0; i < TESTS + 5; i++) {
      for (const mode of MODES) {
        const ms = await oneTest(workers.get(mode)!, mode, i)
        if (i >= 5) perTest.get(mode)!.push(ms)
      }
    }
  } finally {
    for (const worker of workers.values()) await worker.close()
  }
  // Cold 'database': the template built first (a new migrations hash), then dropped again.
  const folder = freshMigrations()
  let cold: number
  const admin = await connect()
  try {
    const start = process.hrtime.bigint()
    await (await openWorker('database', folder)).close()
    cold = Number(process.hrtime.bigint() - start) / 1e6
  } finally {
    // The bench's template goes (as the sweep drops one unused for a week); the suites' own stays.
    const [row] = await admin.execute<{ base: string }>('select current_database() as base')
    const template = templateDatabaseName(row!.base, migrationsHash(folder, REGISTRY_VERSION))
    await admin.execute(
      `update leakless.created_resources set created_at = now() - interval '30 days' where kind = 'template' and name = $1`,
      [template],
    )
    await dropTemplates(admin, { unusedForMs: TEMPLATE_UNUSED_MS })
    await admin.close()
    rmSync(folder, { recursive: true, force: true })
  }

  const worker = Object.fromEntries(MODES.map((m) => [m, median(perWorker.get(m)!)])) as Record<Isolation, number>
  const test = Object.fromEntries(MODES.map((m) => [m, median(perTest.get(m)!)])) as Record<Isolation, number>
  printTable(
    `isolation modes: per worker (median of ${WORKER_ROUNDS}) and per test (median of ${TESTS}, 2 users + 2 sessions + 3 bookings)`,
    [
      ...MODES.map((m) => ({
        mode: m,
        'worker open+close ms': worker[m],
        'vs shared': worker[m] / worker.shared,
        'per test ms': test[m],
        'test vs shared': test[m] / test.shared,
      })),
      {
        mode: 'database, cold (template built)',
        'worker open+close ms': cold,
        'vs shared': cold / worker.shared,
        'per test ms': NaN,
        'test vs shared': NaN,
      },
    ],
  )
  const ratios = {
    ...Object.fromEntries(MODES.map((m) => [`worker.${m}VsShared`, worker[m] / worker.shared])),
    ...Object.fromEntries(MODES.map((m) => [`test.${m}VsShared`, test[m] / test.shared])),
    'worker.databaseColdVsShared': cold / worker.shared,
  }
  // Reported, not targets: what a suite pays for isolation is the README's to say.
  const result = writeResult({
    name: 'isolation',
    config: { workerRounds: WORKER_ROUNDS, tests: TESTS, modes: MODES, test: '2 users, 2 sessions, 3 bookings' },
    metrics: { workerMs: worker, testMs: test, databaseColdMs: { open: cold } },
    ratios,
    targets: {},
  })
  return result.pass
}
