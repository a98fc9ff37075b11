/**
 * What a whole suite costs under each way of keeping tests apart: the same integration tests (10 files of
 * 20; each a booking graph, 2 activity rows the app writes, 3 reads) run by the real Vitest CLI, 2 workers,
 * wall time from spawn to exit, medians of interleaved rounds. Leakless's modes against what users would
 * write by hand: a rolled-back transaction per test, TRUNCATE per test (1 worker, as it must be), a database
 * per file cloned from a template, and no cleanup at all. Also at 1 000 tests (50 files) for leakless
 * `shared` (cleanup 'after-each', the default) and hand-written rollback. `BENCH_SUITE=quick` runs 200 tests
 * only; `BENCH_SUITE=full` runs 1 000 for every strategy but TRUNCATE; `BENCH_SUITE_ROUNDS` (3) and
 * `BENCH_SUITE_LARGE_ROUNDS` (2: each run there takes 20–30 s) set the rounds.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { connect, ensureSchema, startEmbedded, type EmbeddedServer } from '../src/db/index.js'
import { migrationsHash, templateDatabaseName } from '../src/db/worker-database.js'
import { dropTemplates, TEMPLATE_UNUSED_MS } from '../src/registry/created-databases.js'
import { REGISTRY_VERSION } from '../src/registry/registry.js'
import { repoRoot, run as runCommand } from '../test/adapters/harness.js'
import { median, meets, printTable, writeResult, type Scaling } from './lib/measure.js'
import { readRunFacts, type SuiteRunFacts } from './lib/suite-report.js'
import {
  removeBenchRoot,
  suiteProject,
  TESTS_PER_FILE,
  writeBenchRoot,
  writeProjectIn,
  type ProjectKind,
} from './lib/suite-projects.js'

const migrations = join(repoRoot, 'factories/migrations')
const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs')
const SMALL = 200
const LARGE = 1000
const ROUNDS = Number(process.env.BENCH_SUITE_ROUNDS ?? 3)
const LARGE_ROUNDS = Math.min(ROUNDS, Number(process.env.BENCH_SUITE_LARGE_ROUNDS ?? 2))
const roundsAt = (tests: number) => (tests === LARGE ? LARGE_ROUNDS : ROUNDS)
const MODE = (process.env.BENCH_SUITE ?? 'default') as 'quick' | 'default' | 'full'

interface Strategy {
  name: string
  label: string
  project: ProjectKind
  workers: number
  /** Also run at 1 000 tests (by default; `full` runs every strategy there but TRUNCATE). */
  large: boolean
  /** Runs in a database of its own, cloned from the bench's template before the run and dropped after it. */
  ownDatabase?: boolean
}

function strategies(): Strategy[] {
  const leakless = (name: string, label: string, config: Record<string, string>, large = false): Strategy => ({
    name,
    label,
    project: { kind: 'leakless', config },
    workers: 2,
    large,
  })
  return [
    leakless('shared', "leakless shared (cleanup 'after-each')", { isolation: 'shared' }, true),
    leakless('shared-background', "leakless shared (cleanup 'background')", {
      isolation: 'shared',
      cleanup: 'background',
    }),
    // Each alternative that a target compares with runs right after leakless shared, so a pair sees the same load.
    { name: 'rollback', label: 'hand-written rollback', project: { kind: 'rollback' }, workers: 2, large: true },
    {
      name: 'template',
      label: 'database per file (template)',
      project: { kind: 'template' },
      workers: 2,
      large: false,
    },
    {
      name: 'truncate',
      label: 'TRUNCATE per test (1 worker)',
      project: { kind: 'truncate' },
      workers: 1,
      large: false,
      ownDatabase: true,
    },
    { name: 'none', label: 'no cleanup', project: { kind: 'none' }, workers: 2, large: false, ownDatabase: true },
    leakless('transaction', 'leakless transaction', { isolation: 'transaction' }),
    leakless('schema', 'leakless schema', { isolation: 'schema' }),
    leakless('database', 'leakless database', { isolation: 'database' }),
  ]
}

/** Targets of issue 14, for leakless shared in every cleanup mode and at every size measured. */
function targetsFor(measured: Array<{ name: string; tests: number }>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const { name, tests } of measured.filter((m) => m.name.startsWith('shared'))) {
    out[`${name}/rollback@${tests}`] = '<= 1.15'
    if (tests !== SMALL) continue
    out[`${name}/truncate@${SMALL}`] = '<= 0.3'
    out[`${name}/template@${SMALL}`] = '<= 0.8'
  }
  return out
}

interface Entry {
  strategy: Strategy
  tests: number
  dir: string
  walls: number[]
  facts: SuiteRunFacts[]
}

const urlOf = (base: string, database: string) => {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.toString()
}

export async function run(): Promise<boolean> {
  let server: EmbeddedServer | null = null
  if (!process.env.DATABASE_URL) server = await startEmbedded()
  const baseUrl = process.env.DATABASE_URL!
  const base = new URL(baseUrl).pathname.slice(1)
  // Every database this bench makes starts with this (the leakless modes' own are leakless's to drop).
  const prefix = `${base}_sb${randomBytes(3).toString('hex')}_`
  const template = `${prefix}tpl`
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} })
  const entries: Entry[] = []
  const list = strategies()
  const sizes = MODE === 'quick' ? [SMALL] : [SMALL, LARGE]
  const leaklessTemplate = templateDatabaseName(base, migrationsHash(migrations, REGISTRY_VERSION))
  const [hadTemplate] = await admin`select 1 from pg_database where datname = ${leaklessTemplate}`
  const started = Date.now()
  const root = writeBenchRoot()
  try {
    // The base database migrated (rollback runs there, as leakless shared does), and the bench's template.
    const db = await connect({ url: baseUrl })
    await ensureSchema(db, { migrationsFolder: migrations })
    await db.close()
    await admin.unsafe('vacuum analyze users, sessions, bookings, activity')
    await admin.unsafe(`create database "${template}"`)
    const tpl = await connect({ url: urlOf(baseUrl, template) })
    await ensureSchema(tpl, { migrationsFolder: migrations })
    await tpl.close()

    const runOnce = async (entry: Entry): Promise<{ ms: number; facts: SuiteRunFacts }> => {
      const { strategy } = entry
      const own = `${prefix}own`
      if (strategy.ownDatabase) await admin.unsafe(`create database "${own}" template "${template}"`)
      // The server may run without autovacuum: dead rows of earlier runs would slow the later ones' scans.
      else await admin.unsafe('vacuum users, sessions, bookings, activity')
      try {
        const env = {
          DATABASE_URL: baseUrl,
          BENCH_URL: strategy.ownDatabase ? urlOf(baseUrl, own) : baseUrl,
          BENCH_ADMIN_URL: baseUrl,
          BENCH_TEMPLATE: template,
          BENCH_DATABASE_PREFIX: prefix,
        }
        const report = join(entry.dir, 'report.json')
        const args = [vitestBin, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]
        const start = process.hrtime.bigint()
        const result = await runCommand(process.execPath, args, { cwd: entry.dir, env, timeoutMs: 300_000 })
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        const facts = result.code === 0 ? readRunFacts(report, result.output) : null
        if (facts === null || facts.passed !== entry.tests) {
          throw new Error(
            `suite bench: ${strategy.label} at ${entry.tests} tests failed (exit ${result.code}):\n${result.output.slice(-3000)}`,
          )
        }
        return { ms, facts }
      } finally {
        if (strategy.ownDatabase) await admin.unsafe(`drop database if exists "${own}"`)
      }
    }

    for (const tests of sizes) {
      for (const strategy of list) {
        if (tests === LARGE && !(strategy.large || (MODE === 'full' && strategy.name !== 'truncate'))) continue
        const files = tests / TESTS_PER_FILE
        const dir = writeProjectIn(
          root,
          `${strategy.name}-${tests}`,
          suiteProject(strategy.project, files, strategy.workers),
        )
        entries.push({ strategy, tests, dir, walls: [], facts: [] })
      }
    }
    // Warm-up: a 2-file project of each strategy, once (the leakless 'database' template is built here if missing).
    for (const strategy of list) {
      const dir = writeProjectIn(root, `warm-${strategy.name}`, suiteProject(strategy.project, 2, strategy.workers))
      await runOnce({ strategy, tests: 2 * TESTS_PER_FILE, dir, walls: [], facts: [] })
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const entry of round % 2 ? [...entries].reverse() : entries) {
        if (round >= roundsAt(entry.tests)) continue
        const { ms, facts } = await runOnce(entry)
        entry.walls.push(ms)
        entry.facts.push(facts)
        console.log(
          `suite: round ${round + 1}/${roundsAt(entry.tests)} ${entry.strategy.label} @${entry.tests}: ${(ms / 1000).toFixed(2)} s`,
        )
      }
    }
  } finally {
    removeBenchRoot(root)
    const ours = await admin<
      Array<{ datname: string }>
    >`select datname from pg_database where starts_with(datname, ${prefix})`
    for (const { datname } of ours) await admin.unsafe(`drop database if exists "${datname}"`)
    if (!hadTemplate) await dropLeaklessTemplate(baseUrl, leaklessTemplate)
    await admin.end({ timeout: 5 })
    await server?.stop()
  }
  return report(entries, sizes, (Date.now() - started) / 1000)
}

/** The template the leakless 'database' runs built, when it was not there before (the suites' own stays). */
async function dropLeaklessTemplate(baseUrl: string, name: string): Promise<void> {
  const db = await connect({ url: baseUrl })
  try {
    await db.execute(
      `update leakless.created_resources set created_at = now() - interval '30 days' where kind = 'template' and name = $1`,
      [name],
    )
    await dropTemplates(db, { unusedForMs: TEMPLATE_UNUSED_MS })
  } finally {
    await db.close()
  }
}

function report(entries: Entry[], sizes: number[], seconds: number): boolean {
  const key = (e: Entry) => `${e.strategy.name}@${e.tests}`
  const wall = Object.fromEntries(entries.map((e) => [key(e), median(e.walls)]))
  const med = (e: Entry, pick: (f: SuiteRunFacts) => number) => median(e.facts.map(pick))
  // Pair by pair in each round (the two ran minutes apart at most), then the median over rounds: every
  // strategy against hand-written rollback, and leakless shared against each alternative too.
  const ratios: Record<string, number> = {}
  const labels: Record<string, string> = {}
  const byKey = new Map(entries.map((e) => [key(e), e]))
  for (const e of entries) {
    const others = e.strategy.name.startsWith('shared') ? ['rollback', 'truncate', 'template', 'none'] : ['rollback']
    for (const other of others) {
      const against = byKey.get(`${other}@${e.tests}`)
      if (against === undefined || e.strategy.name === other) continue
      const k = `${e.strategy.name}/${other}@${e.tests}`
      ratios[k] = median(e.walls.map((w, round) => w / against.walls[round]!))
      labels[k] = `${e.tests} tests: ${e.strategy.label} vs ${against.strategy.label}`
    }
  }
  const targets = targetsFor(entries.map((e) => ({ name: e.strategy.name, tests: e.tests })))
  const metric = (pick: (e: Entry) => number) => Object.fromEntries(entries.map((e) => [key(e), pick(e)]))
  const metrics = {
    wallMs: wall,
    wallMinMs: metric((e) => Math.min(...e.walls)),
    wallMaxMs: metric((e) => Math.max(...e.walls)),
    perTestMs: metric((e) => wall[key(e)]! / e.tests),
    vitestImportMs: metric((e) => med(e, (f) => f.phases.import ?? NaN)),
    vitestTestsMs: metric((e) => med(e, (f) => f.phases.tests ?? NaN)),
    fileOverheadMs: metric((e) => med(e, (f) => f.fileOverheadMs)),
    firstTestMs: metric((e) => med(e, (f) => f.firstTestMs)),
    otherTestMs: metric((e) => med(e, (f) => f.otherTestMs)),
  }
  for (const tests of sizes) {
    const rows = entries.filter((e) => e.tests === tests)
    printTable(
      `suite: ${tests} tests (${tests / TESTS_PER_FILE} files × ${TESTS_PER_FILE}), Vitest, median of ${roundsAt(tests)} interleaved runs (vs rollback: median of the rounds' ratios); import/tests: Vitest's sums over files`,
      rows.map((e) => ({
        strategy: e.strategy.label,
        workers: e.strategy.workers,
        'wall s': wall[key(e)]! / 1000,
        'min–max s': `${(Math.min(...e.walls) / 1000).toFixed(2)}–${(Math.max(...e.walls) / 1000).toFixed(2)}`,
        'vs rollback': e.strategy.name === 'rollback' ? 1 : (ratios[`${e.strategy.name}/rollback@${tests}`] ?? NaN),
        'import s': metrics.vitestImportMs[key(e)]! / 1000,
        'tests s': metrics.vitestTestsMs[key(e)]! / 1000,
        'file overhead ms': metrics.fileOverheadMs[key(e)]!,
        'first test ms': metrics.firstTestMs[key(e)]!,
        'test ms': metrics.otherTestMs[key(e)]!,
      })),
    )
  }
  printTable(
    'suite: targets',
    Object.entries(targets).map(([k, t]) => ({
      ratio: k,
      measured: ratios[k] ?? NaN,
      target: t,
      met: ratios[k] !== undefined && meets(ratios[k], t) ? 'yes' : 'NO',
    })),
  )
  console.log(`suite: ${seconds.toFixed(0)} s in all`)
  // How a suite's wall time grows from 200 to 1 000 tests, for each strategy measured at both sizes.
  const scaling: Scaling[] = [...new Map(entries.map((e) => [e.strategy.name, e.strategy])).values()].flatMap((s) => {
    const points = sizes.flatMap((n) => {
      const ms = wall[`${s.name}@${n}`]
      return ms === undefined ? [] : [{ size: `${n.toLocaleString('en-US')} tests`, value: ms / 1000 }]
    })
    return points.length > 1 ? [{ what: `suite wall time, ${s.label}`, unit: 's', points }] : []
  })
  const config = {
    mode: MODE,
    rounds: ROUNDS,
    largeRounds: LARGE_ROUNDS,
    sizes,
    testsPerFile: TESTS_PER_FILE,
    perTest: '2 users, 2 sessions, 3 bookings (factories or hand-written inserts), 2 activity rows by raw SQL, 3 reads',
    strategies: Object.fromEntries(
      [...new Map(entries.map((e) => [e.strategy.name, e.strategy])).values()].map((s) => [
        s.name,
        { label: s.label, workers: s.workers },
      ]),
    ),
    runner:
      'vitest run (forks, isolate: true), wall time from spawn to exit, after a 2-file warm-up run of each strategy',
    seconds,
  }
  return writeResult({ name: 'suite', config, metrics, ratios, targets, labels, scaling }).pass
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit((await run()) ? 0 : 1)
