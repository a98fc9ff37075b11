/**
 * One test's data, created and gone again, as a worker runs it test after test: 2 users, 2 sessions,
 * 3 bookings through the factories and 2 activity rows the app writes (untagged), then the test's
 * cleanup — against the same rows inserted by hand (drizzle) in a transaction rolled back after the
 * test, and against the factories in a rolled-back transaction (isolation 'transaction'), which splits
 * the insert path's cost from cleanup's. Each phase is timed, and the statements each sends (round
 * trips on the test's critical path) are counted on the connection; `select 1` is the floor of one.
 */
import { TransactionRollbackError } from 'drizzle-orm'
import { factories } from '../factories/index.js'
import { activity, bookings, sessions, users } from '../factories/schema.js'
import { createRun, type AnyPgDatabase, type RunContext, type TestScope } from '../src/index.js'
import { CleanupQueue } from '../src/lifecycle/cleanup-queue.js'
import { openTestTransaction } from '../src/vitest/test-transaction.js'
import { describeDb, openBase, openCounted, selectOneMs, serverVersion, type CountedDatabase } from './lib/database.js'
import { median, printTable, writeResult } from './lib/measure.js'

const TESTS = 300
const WARMUP = 30
const BLOCK = 10
const HOUR = 3600_000

/** When a test's cleanup runs: awaited after the test, or queued off its critical path. */
export type CleanupMode = 'after-each' | 'background'

/** One test's phases: what the test waits for (create, then cleanup or rollback) and what each sends. */
interface Phases {
  createMs: number
  cleanupMs: number
  /** This process's CPU time in both phases: the client's share (factories, drizzle, the driver). */
  cpuMs: number
  createStatements: number
  cleanupStatements: number
  /** The statements' text, for a profile (LEAKLESS_BENCH_PROFILE=1). */
  texts: string[]
}

interface Worker {
  run: RunContext
  counted: CountedDatabase
  queue: CleanupQueue
}

const now = () => process.hrtime.bigint()
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6

/** Runs `fn`, then measures the phase it was: time and statements sent. */
async function phase(worker: Worker, fn: () => Promise<unknown>) {
  worker.counted.reset()
  const cpu = process.cpuUsage()
  const start = now()
  await fn()
  const wall = ms(start, now())
  const used = process.cpuUsage(cpu)
  return {
    ms: wall,
    cpuMs: (used.user + used.system) / 1000,
    statements: worker.counted.statements(),
    texts: worker.counted.texts(),
  }
}

const phases = (create: Awaited<ReturnType<typeof phase>>, cleanup: Awaited<ReturnType<typeof phase>>): Phases => ({
  createMs: create.ms,
  cleanupMs: cleanup.ms,
  cpuMs: create.cpuMs + cleanup.cpuMs,
  createStatements: create.statements,
  cleanupStatements: cleanup.statements,
  texts: [...create.texts, '-- cleanup --', ...cleanup.texts],
})

/** The test's rows through the factories, on the worker's connection or in a transaction. */
async function createGraph(scope: TestScope, app: AnyPgDatabase) {
  const b = scope.bind(factories)
  const [parent, instructor] = await b.users.createList(2)
  await b.sessions.createList(2, { userId: parent!.id })
  await b.bookings.createList(3, { parentId: parent!.id, instructorId: instructor!.id })
  // What the app writes on its own: no tag, found through its foreign key.
  await app.insert(activity).values([
    { userId: parent!.id, action: 'signed up' },
    { userId: parent!.id, action: 'booked' },
  ])
}

/**
 * One leakless test under `shared`: factories, then the test's cleanup. `after-each` waits for it;
 * `background` hands it to the worker's queue (src/lifecycle/cleanup-queue.ts) and returns.
 */
export async function leaklessTest(
  worker: Worker,
  i: number,
  mode: CleanupMode,
  { handsOut = false } = {},
): Promise<Phases> {
  const { db } = worker.counted
  const scope = worker.run.scope(`test ${i}`)
  // A value handed out (an e-mail for a sign-up form): cleanup also looks for the prefix in columns nobody named.
  if (handsOut) scope.email('signup')
  const create = await phase(worker, () => createGraph(scope, db.drizzle))
  const cleanOne = async () => {
    const report = await scope.cleanup()
    if (report.total !== 9) throw new Error(`per-test: cleanup deleted ${report.total} rows, expected 9`)
  }
  const cleanup = await phase(worker, async () => {
    if (mode === 'after-each') return cleanOne()
    await worker.queue.add({ name: scope.name, prefix: scope.prefix }, cleanOne)
  })
  return phases(create, cleanup)
}

/** The factories in a transaction rolled back after the test (isolation 'transaction'). */
async function leaklessRolledBack(worker: Worker, i: number): Promise<Phases> {
  const { db } = worker.counted
  let transaction: Awaited<ReturnType<typeof openTestTransaction>> | undefined
  const create = await phase(worker, async () => {
    transaction = await openTestTransaction(worker.run, db.drizzle)
    const scope = worker.run.scope(`rolled back ${i}`, { db: transaction.tx })
    await createGraph(scope, transaction.tx as unknown as AnyPgDatabase)
  })
  const cleanup = await phase(worker, () => transaction!.rollback())
  return phases(create, cleanup)
}

/** The test's rows inserted by hand with drizzle (on the connection or in a transaction); their ids. */
async function insertByHand(db: AnyPgDatabase, p: string) {
  const ids = {
    users: [`${p}u1`, `${p}u2`],
    sessions: [`${p}s1`, `${p}s2`],
    bookings: [1, 2, 3].map((n) => `${p}b${n}`),
  }
  await db.insert(users).values([
    { id: ids.users[0]!, email: `${p}u1@example.test`, name: 'Pat Parent', role: 'parent' },
    { id: ids.users[1]!, email: `${p}u2@example.test`, name: 'Ines Instructor', role: 'instructor' },
  ])
  const expiresAt = new Date(Date.now() + 24 * HOUR)
  await db
    .insert(sessions)
    .values(ids.sessions.map((id, n) => ({ id, userId: ids.users[0]!, token: `${id}t${n}`, expiresAt })))
  const slot = (n: number) => new Date(Date.now() + 7 * 24 * HOUR + n * HOUR)
  await db.insert(bookings).values(
    ids.bookings.map((id, n) => ({
      id,
      parentId: ids.users[0]!,
      instructorId: ids.users[1]!,
      scheduledAt: slot(n),
      amountCents: 5000,
    })),
  )
  await db.insert(activity).values([
    { userId: ids.users[0]!, action: 'signed up' },
    { userId: ids.users[0]!, action: 'booked' },
  ])
  return ids
}

/** Hand-written drizzle inserts of the same rows in a transaction, rolled back after the test. */
async function handWrittenRollback(worker: Worker, i: number): Promise<Phases> {
  const { db } = worker.counted
  const p = `${worker.run.prefix}hand${i}-`
  let end!: () => void
  const ended = new Promise<void>((resolve) => (end = resolve))
  let created!: () => void
  const ready = new Promise<void>((resolve) => (created = resolve))
  let done: Promise<void> | undefined
  const create = await phase(worker, async () => {
    done = db.drizzle
      .transaction(async (tx) => {
        await insertByHand(tx as unknown as AnyPgDatabase, p)
        created()
        await ended
        tx.rollback()
      })
      .catch((error: unknown) => {
        if (!(error instanceof TransactionRollbackError)) throw error
      })
    await Promise.race([ready, done])
  })
  const cleanup = await phase(worker, async () => {
    end()
    await done
  })
  return phases(create, cleanup)
}

/** The same rows inserted by hand and committed, then deleted by hand with their ids known, children first. */
async function handWrittenDeletes(worker: Worker, i: number): Promise<Phases> {
  const { db } = worker.counted
  let ids: Awaited<ReturnType<typeof insertByHand>> | undefined
  const create = await phase(worker, async () => (ids = await insertByHand(db.drizzle, `${worker.run.prefix}del${i}-`)))
  const cleanup = await phase(worker, () =>
    db.transaction(async (exec) => {
      await exec('delete from activity where user_id = any($1)', [ids!.users])
      await exec('delete from bookings where id = any($1)', [ids!.bookings])
      await exec('delete from sessions where id = any($1)', [ids!.sessions])
      await exec('delete from users where id = any($1)', [ids!.users])
    }),
  )
  return phases(create, cleanup)
}

type Contender = (worker: Worker, i: number) => Promise<Phases>

/** Short keys of the contenders, for the JSON. */
const KEYS: Record<string, string> = {
  'leakless, after-each cleanup': 'afterEach',
  'leakless, background cleanup': 'background',
  'leakless, after-each, a value handed out': 'discovering',
  'hand-written, rolled back': 'rollback',
  'hand-written, deleted by id': 'handDeletes',
  'leakless factories, rolled back': 'transaction',
}

/**
 * Tests run in blocks of BLOCK, a block per contender in turn (the order rotating), as a worker runs its
 * tests one after another: a background cleanup overlaps the next test of its own kind, not another's.
 */
async function runBlocks(
  worker: Worker,
  contenders: Record<string, Contender>,
  afterBlock: (name: string) => Promise<unknown>,
) {
  const names = Object.keys(contenders)
  const samples = Object.fromEntries(names.map((n) => [n, [] as Phases[]]))
  let i = 0
  for (let block = 0; block < (WARMUP + TESTS) / BLOCK; block++) {
    const order = names.map((_, k) => names[(k + block) % names.length]!)
    for (const name of block % 2 ? order.reverse() : order) {
      for (let t = 0; t < BLOCK; t++, i++) {
        const test = await contenders[name]!(worker, i)
        if (block * BLOCK >= WARMUP) samples[name]!.push({ ...test, texts: [] })
        if (block * BLOCK === WARMUP && t === 0 && process.env.LEAKLESS_BENCH_PROFILE) {
          console.log(`\n${name}:\n  ${test.texts.join('\n  ')}`)
        }
      }
      await afterBlock(name)
    }
  }
  return samples
}

function summarize(phases: Phases[]) {
  const m = (f: (p: Phases) => number) => median(phases.map(f))
  return {
    totalMs: m((p) => p.createMs + p.cleanupMs),
    createMs: m((p) => p.createMs),
    cleanupMs: m((p) => p.cleanupMs),
    cpuMs: m((p) => p.cpuMs),
    statements: m((p) => p.createStatements + p.cleanupStatements),
  }
}

export async function run(): Promise<boolean> {
  const { base, url } = await openBase()
  const counted = await openCounted(url)
  let run: RunContext | undefined
  try {
    const version = await serverVersion(base)
    run = await createRun({ db: counted.db, factories })
    const queue = new CleanupQueue()
    const worker: Worker = { run, counted, queue }
    const contenders: Record<string, Contender> = {
      'leakless, after-each cleanup': (w, i) => leaklessTest(w, i, 'after-each'),
      'leakless, background cleanup': (w: Worker, i: number) => leaklessTest(w, i, 'background'),
      'leakless, after-each, a value handed out': (w, i) => leaklessTest(w, i, 'after-each', { handsOut: true }),
      'hand-written, rolled back': handWrittenRollback,
      'hand-written, deleted by id': handWrittenDeletes,
      'leakless factories, rolled back': leaklessRolledBack,
    }
    const samples = await runBlocks(worker, contenders, async () => {
      const failures = await queue.drain()
      if (failures.length > 0) throw new Error(`per-test: background cleanups failed: ${JSON.stringify(failures)}`)
    })
    const floor = await selectOneMs(counted.db)
    const names = Object.keys(contenders)
    const summary = Object.fromEntries(names.map((n) => [KEYS[n]!, summarize(samples[n]!)]))
    printTable(
      `per-test: one test's 9 rows, median of ${TESTS} tests in interleaved blocks of ${BLOCK} (${describeDb(counted.db)})`,
      [
        ...names.map((n) => {
          const s = summary[KEYS[n]!]!
          return {
            contender: n,
            'total ms': s.totalMs,
            'create ms': s.createMs,
            'cleanup ms': s.cleanupMs,
            'client CPU ms': s.cpuMs,
            statements: s.statements,
            'floor ms': s.statements * floor,
          }
        }),
        {
          contender: 'select 1 (one round trip)',
          'total ms': floor,
          'create ms': NaN,
          'cleanup ms': NaN,
          'client CPU ms': NaN,
          statements: 1,
          'floor ms': floor,
        },
      ],
    )
    const group = (field: keyof ReturnType<typeof summarize>) =>
      Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, s[field]]))
    const { afterEach, rollback, transaction, background, discovering, handDeletes } = summary as Record<
      string,
      ReturnType<typeof summarize>
    >
    return writeResult({
      name: 'per-test',
      config: {
        test: '2 users, 2 sessions, 3 bookings (factories), 2 activity rows (app-written)',
        tests: TESTS,
        warmup: WARMUP,
        block: BLOCK,
        isolation: 'shared',
        cleanupModes: ['after-each', 'background'],
        server: `PostgreSQL ${version}`,
        driver: counted.db.driver,
        connection: 'synchronous_commit=off, jit=off, as connect() opens it',
        statements: 'counted on the connection; a background cleanup overlapping the next test is counted there',
      },
      metrics: {
        totalMs: group('totalMs'),
        createMs: group('createMs'),
        cleanupMs: group('cleanupMs'),
        clientCpuMs: group('cpuMs'),
        statements: group('statements'),
        floorMs: { 'select 1': floor },
      },
      ratios: {
        afterEachVsRollback: afterEach!.totalMs / rollback!.totalMs,
        ...(background ? { backgroundVsRollback: background.totalMs / rollback!.totalMs } : {}),
        createVsHandInsert: afterEach!.createMs / rollback!.createMs,
        transactionVsRollback: transaction!.totalMs / rollback!.totalMs,
        discoveringVsAfterEach: discovering!.totalMs / afterEach!.totalMs,
        afterEachVsHandDeletes: afterEach!.totalMs / handDeletes!.totalMs,
        cleanupVsHandDeletes: afterEach!.cleanupMs / handDeletes!.cleanupMs,
        handDeletesVsRollback: handDeletes!.totalMs / rollback!.totalMs,
        afterEachStatementsVsRollback: afterEach!.statements / rollback!.statements,
        afterEachVsFloor: afterEach!.totalMs / (afterEach!.statements * floor),
      },
      targets: { afterEachVsRollback: '<= 1.3', ...(background ? { backgroundVsRollback: '<= 1.0' } : {}) },
      labels: {
        afterEachVsRollback: "one test's create + after-each cleanup vs hand-written inserts rolled back",
        backgroundVsRollback:
          "one test's create + background cleanup (its critical path) vs hand-written inserts rolled back",
        createVsHandInsert: "one test's inserts: factories vs hand-written drizzle inserts",
        transactionVsRollback: 'factories in a rolled-back transaction vs hand-written inserts rolled back',
        afterEachVsHandDeletes: "one test's create + after-each cleanup vs hand-written inserts and deletes by id",
        cleanupVsHandDeletes: "one test's cleanup vs hand-written deletes by id (4 statements in a transaction)",
        handDeletesVsRollback: 'hand-written inserts and deletes by id vs the same inserts rolled back',
        discoveringVsAfterEach: 'a leakless test that handed a value out (cleanup with discovery) vs one that did not',
        afterEachStatementsVsRollback: 'statements (round trips) of one test: leakless after-each vs rolled back',
        afterEachVsFloor: 'one leakless test vs its statements × select 1 (the round-trip floor)',
      },
    }).pass
  } finally {
    await run?.close().catch(() => {})
    await counted.close()
    await base.close()
  }
}
