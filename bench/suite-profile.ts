/**
 * Where leakless `shared`'s suite time goes against hand-written transaction rollback (the `suite`
 * benchmark's two main rows), one test file at a time as Vitest runs it: a fresh process per file that
 * loads its modules, opens the file's run (or a connection), runs 20 tests — the same graph, app writes
 * and reads as `bench/suite.ts` — and closes. Timed per phase without a proxy; counted per phase (round
 * trips and their SQL) through a proxy in a second pass. `npx tsx bench/suite-profile.ts [files]`.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql as raw } from 'drizzle-orm'
import { repoRoot, run as runCommand } from '../test/adapters/harness.js'
import { median, printTable } from './lib/measure.js'
import {
  removeBenchRoot,
  suiteProject,
  TESTS_PER_FILE,
  writeBenchRoot,
  writeProjectIn,
  type ProjectKind,
} from './lib/suite-projects.js'
import { summaryPhases } from './lib/suite-report.js'
import { startRoundTripProxy, type RoundTrip, type RoundTripProxy } from './lib/round-trips.js'

const TESTS = 20
const VITEST_ROUNDS = Number(process.env.BENCH_PROFILE_VITEST_ROUNDS ?? 3)
const migrations = join(repoRoot, 'factories/migrations')
const PHASES = ['import', 'open', 'setup', 'insert', 'app', 'cleanup', 'close', 'done'] as const
type Phase = (typeof PHASES)[number]
type Strategy = 'leakless' | 'rollback'

interface FileProfile {
  /** ms per phase: whole-file phases, and per-test phases of the first test (`first.*`) and the others (median). */
  ms: Record<string, number>
  trips?: RoundTrip[]
  phaseStarts?: Record<string, number>
}

const now = () => Number(process.hrtime.bigint()) / 1e6

/** The app's part of a test, as in the suite: 2 activity rows, 3 reads. */
async function appWritesAndReads(
  db: { execute: (q: ReturnType<typeof raw>) => Promise<unknown> },
  parentId: string,
  instructorId: string,
) {
  await db.execute(
    raw`insert into activity (user_id, action) values (${parentId}, 'booked'), (${instructorId}, 'confirmed')`,
  )
  const booked = (await db.execute(
    raw`select b.id, u.email from bookings b join users u on u.id = b.instructor_id where b.parent_id = ${parentId}`,
  )) as unknown[]
  const [sessions] = (await db.execute(
    raw`select count(*)::int as n from sessions where user_id = ${parentId}`,
  )) as Array<{ n: number }>
  const actions = (await db.execute(
    raw`select action from activity where user_id in (${parentId}, ${instructorId})`,
  )) as unknown[]
  if (booked.length !== 3 || sessions!.n !== 2 || actions.length !== 2) throw new Error('profile: unexpected reads')
}

/** One test file in this process: what Vitest's worker does for it, timed (and attributed to the proxy's phases). */
async function profileFile(strategy: Strategy, url: string, proxy: RoundTripProxy | null): Promise<FileProfile> {
  const total: Record<string, number> = {}
  const perTest: Record<string, number[]> = {}
  let mark = now()
  let current = 'import'
  // Ends the current phase and starts `next` (a test's phases are `first.<phase>` for its first test).
  const to = (next: string, test?: number) => {
    const t = now()
    if (['setup', 'insert', 'app', 'cleanup'].includes(current)) (perTest[current] ??= []).push(t - mark)
    else total[current] = (total[current] ?? 0) + t - mark
    mark = t
    current = test === 1 ? `first.${next}` : next
    if (proxy) proxy.phase = current
  }
  if (proxy) proxy.phase = current
  if (strategy === 'leakless') {
    const [{ openWorkerRun }, { factories }] = await Promise.all([
      import('../src/lifecycle/index.js'),
      import('../factories/index.js'),
    ])
    to('open')
    const worker = await openWorkerRun({
      config: { file: null, isolation: 'shared', migrations },
      runner: 'vitest',
      factories,
    })
    for (let i = 1; i <= TESTS; i++) {
      to('setup', i)
      const scope = worker.run.scope(`f books lesson ${i}`)
      const f = scope.bind(factories)
      to('insert', i)
      const [parent, instructor] = await f.users.createList(2)
      await f.sessions.createList(2, { userId: parent!.id })
      await f.bookings.createList(3, { parentId: parent!.id, instructorId: instructor!.id })
      to('app', i)
      await appWritesAndReads(worker.run.db as never, parent!.id, instructor!.id)
      to('cleanup', i)
      await scope.cleanup()
    }
    to('close')
    const closed = await worker.close()
    if (!closed.clean) throw new Error(`profile: leaks\n${closed.message}`)
  } else {
    const [{ default: postgres }, { drizzle }, schema] = await Promise.all([
      import('postgres'),
      import('drizzle-orm/postgres-js'),
      import('../factories/schema.js'),
    ])
    to('open')
    // As the suite's hand-written files: the connection opens on the first query (the first test's BEGIN).
    const client = postgres(url, { max: 1, onnotice: () => {}, connection: { synchronous_commit: 'off' } })
    const db = drizzle(client)
    const HOUR = 3_600_000
    for (let i = 1; i <= TESTS; i++) {
      to('setup', i)
      await client`begin`
      to('insert', i)
      const parentId = randomUUID()
      const instructorId = randomUUID()
      await db.insert(schema.users).values([
        { id: parentId, email: `${parentId}@example.test`, name: 'Pat Parent', role: 'parent' },
        { id: instructorId, email: `${instructorId}@example.test`, name: 'Ivy Instructor', role: 'instructor' },
      ])
      const expiresAt = new Date(Date.now() + 24 * HOUR)
      await db.insert(schema.sessions).values([
        { id: randomUUID(), userId: parentId, token: randomUUID(), expiresAt },
        { id: randomUUID(), userId: parentId, token: randomUUID(), expiresAt },
      ])
      await db.insert(schema.bookings).values(
        [0, 1, 2].map((k) => ({
          id: randomUUID(),
          parentId,
          instructorId,
          scheduledAt: new Date(Date.now() + (k + 200) * HOUR),
          status: 'pending' as const,
          amountCents: 4000,
        })),
      )
      to('app', i)
      await appWritesAndReads(db as never, parentId, instructorId)
      to('cleanup', i)
      await client`rollback`
    }
    to('close')
    await client.end({ timeout: 5 })
  }
  to('done')
  for (const [phase, values] of Object.entries(perTest)) total[phase] = median(values)
  return { ms: total, ...(proxy ? { trips: proxy.trips, phaseStarts: proxy.phaseStarts } : {}) }
}

/** The child: one file, printed as JSON. */
async function child(strategy: Strategy, count: boolean): Promise<void> {
  const url = process.env.DATABASE_URL!
  const proxy = count ? await startRoundTripProxy(url) : null
  if (proxy) process.env.DATABASE_URL = proxy.url
  const profile = await profileFile(strategy, proxy?.url ?? url, proxy)
  await proxy?.close()
  console.log(`PROFILE ${JSON.stringify(profile)}`)
}

function spawnFile(strategy: Strategy, count: boolean, env: NodeJS.ProcessEnv): FileProfile {
  const tsx = join(repoRoot, 'node_modules/.bin/tsx')
  const out = execFileSync(tsx, [fileURLToPath(import.meta.url), '--child', strategy, ...(count ? ['--count'] : [])], {
    env,
    encoding: 'utf8',
  })
  const line = out.split('\n').find((l) => l.startsWith('PROFILE '))
  if (!line) throw new Error(`profile: no result from the ${strategy} child:\n${out}`)
  return JSON.parse(line.slice('PROFILE '.length)) as FileProfile
}

/** Module loading as an installed package, in fresh Node processes (no Vitest): ms to import each set, median of 5. */
function moduleLoading(): Record<string, number> {
  const root = writeBenchRoot()
  const sets: Record<string, string[]> = {
    'postgres + drizzle (hand-written)': ['postgres', 'drizzle-orm/postgres-js'],
    '+ @faker-js/faker/locale/en': ['postgres', 'drizzle-orm/postgres-js', '@faker-js/faker/locale/en'],
    '+ leakless': ['postgres', 'drizzle-orm/postgres-js', 'leakless'],
    '+ leakless/vitest (with vitest)': ['postgres', 'drizzle-orm/postgres-js', 'leakless/vitest'],
    'vitest alone': ['vitest'],
  }
  const out: Record<string, number> = {}
  try {
    for (const [name, modules] of Object.entries(sets)) {
      const script = `const t = performance.now(); for (const m of ${JSON.stringify(modules)}) await import(m); console.log(performance.now() - t)`
      const times = Array.from({ length: 5 }, () =>
        Number(
          execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim(),
        ),
      )
      out[name] = median(times)
    }
  } finally {
    removeBenchRoot(root)
  }
  return out
}

/**
 * The same comparison inside Vitest (200 tests, 10 files, 2 workers; leakless installed as a package):
 * per test, the graph and the app's part timed in the test body, the rest of Vitest's test duration
 * (fixtures, the cleanup hook or BEGIN/ROLLBACK); the first test of each file; module loading per file.
 * A third variant turns Vitest's source-mapped stack traces off, which leakless's ledger pays for when it
 * records where each row was created.
 */
async function vitestProfile(rounds: number, url: string): Promise<void> {
  const files = 10
  const variants: Array<[string, ProjectKind]> = [
    ['leakless shared', { kind: 'leakless', config: { isolation: 'shared' } }],
    ['leakless shared, plain stacks', { kind: 'leakless', config: { isolation: 'shared' }, plainStacks: true }],
    ['hand-written rollback', { kind: 'rollback' }],
  ]
  const root = writeBenchRoot()
  const stats = new Map<string, Record<string, number[]>>()
  try {
    const dirs = variants.map(
      ([name, kind], i) => [name, writeProjectIn(root, `p${i}`, suiteProject(kind, files, 2, true))] as const,
    )
    for (let round = 0; round <= rounds; round++) {
      for (const [name, dir] of round % 2 ? [...dirs].reverse() : dirs) {
        const report = join(dir, 'report.json')
        const args = [
          join(repoRoot, 'node_modules/vitest/vitest.mjs'),
          'run',
          '--reporter=default',
          '--reporter=json',
          `--outputFile.json=${report}`,
        ]
        const start = now()
        const result = await runCommand(process.execPath, args, {
          cwd: dir,
          env: { DATABASE_URL: url, BENCH_URL: url },
          timeoutMs: 300_000,
        })
        const wall = now() - start
        if (result.code !== 0) throw new Error(`profile: ${name} failed:\n${result.output.slice(-3000)}`)
        if (round === 0) continue // warm-up
        const json = JSON.parse(readFileSync(report, 'utf8')) as {
          testResults: Array<{ assertionResults: Array<{ duration: number }> }>
        }
        const phases = [...result.stderr.matchAll(/PHASES (\S+) (\S+)/g)].map(
          (m) => [Number(m[1]), Number(m[2])] as const,
        )
        const durations = json.testResults.flatMap((f) =>
          f.assertionResults.map((a, i) => ({ first: i === 0, ms: a.duration })),
        )
        const add = (key: string, values: number[]) =>
          ((stats.get(name) ?? stats.set(name, {}).get(name)!)[key] ??= []).push(...values)
        add('wall s', [wall / 1000])
        add('import ms per file', [(summaryPhases(result.output).import ?? NaN) / files])
        add(
          'first test ms',
          durations.filter((d) => d.first).map((d) => d.ms),
        )
        add(
          'test ms',
          durations.filter((d) => !d.first).map((d) => d.ms),
        )
        // stderr lines of the two workers interleave, but each test's pair stays together.
        add(
          'graph ms',
          phases.map((p) => p[0]),
        )
        add(
          'app ms',
          phases.map((p) => p[1]),
        )
      }
    }
  } finally {
    removeBenchRoot(root)
  }
  const rows = [...stats].map(([variant, s]) => {
    const m = (k: string) => median(s[k]!)
    return {
      variant,
      'wall s': m('wall s'),
      'import ms/file': m('import ms per file'),
      'first test ms': m('first test ms'),
      'test ms': m('test ms'),
      'graph ms': m('graph ms'),
      'app ms': m('app ms'),
      'rest ms': m('test ms') - m('graph ms') - m('app ms'),
    }
  })
  printTable(
    `inside Vitest: ${files * TESTS_PER_FILE} tests, 2 workers, medians over ${rounds} interleaved runs; graph and app timed in the test body (all tests), rest = test duration − both (fixtures, cleanup hook / BEGIN+ROLLBACK)`,
    rows,
  )
}

async function main(files: number): Promise<void> {
  const { startGlobalRun } = await import('../src/lifecycle/index.js')
  const env = { ...process.env }
  // As the suite's global setup: migrations, LEAKLESS_RUN for the files, the run's teardown audit at the end.
  const setupStart = now()
  const global = await startGlobalRun({ config: { migrations }, cwd: repoRoot, env, log: () => {} })
  const setupMs = now() - setupStart
  let teardownMs: number
  const timed: Record<Strategy, FileProfile[]> = { leakless: [], rollback: [] }
  const counted: Record<Strategy, FileProfile | null> = { leakless: null, rollback: null }
  try {
    for (const s of ['leakless', 'rollback'] as const) spawnFile(s, false, env) // warm-up
    for (let f = 0; f < files; f++) {
      for (const s of f % 2 ? (['rollback', 'leakless'] as const) : (['leakless', 'rollback'] as const))
        timed[s].push(spawnFile(s, false, env))
    }
    for (const s of ['leakless', 'rollback'] as const) counted[s] = spawnFile(s, true, env)
  } finally {
    const teardownStart = now()
    const report = await global.teardown()
    teardownMs = now() - teardownStart
    if (!report.clean) console.error(report.message)
  }
  console.log(
    `leakless global setup (migrations checked, sweep) ${setupMs.toFixed(1)} ms, teardown (run audit) ${teardownMs.toFixed(1)} ms: once per suite`,
  )
  await vitestProfile(VITEST_ROUNDS, process.env.DATABASE_URL!)
  const loading = moduleLoading()
  printTable(
    'module loading, installed package, fresh Node process (Vitest itself loads through its module runner: see the suite bench)',
    Object.entries(loading).map(([modules, ms]) => ({ modules, ms })),
  )
  const keys = [...new Set(Object.values(timed).flatMap((l) => l.flatMap((p) => Object.keys(p.ms))))]
  const order = (k: string) => (k.startsWith('first.') ? 1 : 0) * 10 + PHASES.indexOf(k.replace('first.', '') as Phase)
  keys.sort((a, b) => order(a) - order(b))
  const ms = (s: Strategy, k: string) => median(timed[s].map((p) => p.ms[k] ?? 0))
  const trips = (s: Strategy, k: string) => counted[s]!.trips!.filter((t) => t.phase === k)
  const perTestCount = (s: Strategy, k: string) =>
    trips(s, k).length / (['setup', 'insert', 'app', 'cleanup'].includes(k) ? TESTS - 1 : 1)
  printTable(
    `suite profile: one test file (${TESTS} tests) in a fresh process, medians of ${files} files; test phases: first test, then median of the others; round trips counted through a proxy (per test for test phases)`,
    keys.map((k) => ({
      phase: PHASES.includes(k as Phase) && ['setup', 'insert', 'app', 'cleanup'].includes(k) ? `test ${k}` : k,
      'leakless ms': ms('leakless', k),
      'rollback ms': ms('rollback', k),
      'extra ms': ms('leakless', k) - ms('rollback', k),
      'leakless trips': perTestCount('leakless', k),
      'rollback trips': perTestCount('rollback', k),
    })),
  )
  const perFile = (s: Strategy) =>
    ['import', 'open', 'close', 'first.setup', 'first.insert', 'first.app', 'first.cleanup'].reduce(
      (a, k) => a + ms(s, k),
      0,
    ) +
    (TESTS - 1) * ['setup', 'insert', 'app', 'cleanup'].reduce((a, k) => a + ms(s, k), 0)
  console.log(
    `\nper file: leakless ${perFile('leakless').toFixed(1)} ms, rollback ${perFile('rollback').toFixed(1)} ms`,
  )
  for (const phase of ['open', 'first.insert', 'first.cleanup', 'close']) {
    const list = trips('leakless', phase)
    const from = counted.leakless!.phaseStarts?.[phase] ?? list[0]?.at ?? 0
    console.log(
      `\nleakless round trips in ${phase}: sent at (ms into the phase), connection, ms as seen through the proxy, SQL`,
    )
    for (const t of list) {
      const at = (t.at - from).toFixed(1).padStart(6)
      console.log(
        `  ${at}  #${t.connection}  ${t.ms.toFixed(2).padStart(6)}  ${t.sql.replace(/\s+/g, ' ').slice(0, 130)}`,
      )
    }
  }
}

const args = process.argv.slice(2)
if (args[0] === '--child') await child(args[1] as Strategy, args.includes('--count'))
else await main(Number(args[0] ?? 8))
