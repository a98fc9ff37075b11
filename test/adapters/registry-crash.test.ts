/**
 * A Vitest worker killed in the middle of a test, under the real Vitest CLI (pool 'forks', 2 workers) and
 * the built `leakless/vitest`: the serial-key app of test/fixtures/serial-app.ts, a leakless.config.ts
 * with no tagColumns (and no schemas), rows made by factories and by the app's own sign-up SQL. The
 * global teardown must find and remove every row of the dead worker through the run registry alone.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { withFileLock } from '../../src/db/file-lock.js'
import { serialApp, serialAppModule } from '../fixtures/serial-app.js'
import { runVitest, vitestConfig } from './fixtures/vitest/projects.js'
import { createRunTag, removeProject, repoRoot, writeProject } from './harness.js'

const url = inject('database').url
const tables = ['users', 'teams', 'team_members', 'activity_logs', 'counters'] as const

/**
 * `fixtures.ts` of the project: the project's `test` with serialApp's factories (from `app.ts`,
 * {@link serialAppModule}: made by the built package, as a user's are) and the app's sign-up SQL.
 */
function fixturesFile(app: ReturnType<typeof serialApp>): string {
  return `import { leaklessTest } from 'leakless/vitest'
import { factories } from './app.js'

/** What the app does on sign-up, in SQL of its own (no factory): $1 is the e-mail. */
export const signUpSql = ${JSON.stringify(app.signUp('$1')[0]!.text)}

export const test = leaklessTest({ factories })
`
}

/**
 * A file whose first test passes (and is cleaned up), and whose second makes rows by factory and by the
 * app's SQL, writes what it made to crashed.json and SIGKILLs its own worker process.
 */
const crashSpec = `import { writeFileSync } from 'node:fs'
import { expect } from 'vitest'
import { signUpSql, test } from './fixtures.js'

test('passes and is cleaned up', async ({ factories, scope, db }) => {
  await factories.users.create()
  await factories.teams.create()
  await db.$client.unsafe(signUpSql, [scope.email('signup')])
  await factories.counters.createList(2)
})

test('makes rows, then its worker is killed', async ({ factories, scope, db, run }) => {
  const user = await factories.users.create()
  const team = await factories.teams.create()
  const email = scope.email('signup')
  await db.$client.unsafe(signUpSql, [email])
  const counters = await factories.counters.createList(3)
  expect(user.email.startsWith(scope.prefix)).toBe(true)
  // The console of a killed worker never reaches Vitest: a file does.
  writeFileSync('crashed.json', JSON.stringify({ pid: process.pid, prefix: run.prefix, user: user.id, team: team.id, email, counters: counters.map((c) => c.id) }))
  process.kill(process.pid, 'SIGKILL')
  await new Promise(() => {})
})
`

/** A file in the other worker that runs on after its sibling died, and is cleaned up as usual. */
const goodSpec = (schema: string) => `import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import { signUpSql, test } from './fixtures.js'

const schema = ${JSON.stringify(schema)}

test('makes rows after the other worker died', async ({ factories, scope, db }) => {
  for (let i = 0; i < 300 && !existsSync('crashed.json'); i++) await new Promise((r) => setTimeout(r, 100))
  expect(existsSync('crashed.json')).toBe(true)
  await new Promise((r) => setTimeout(r, 300))
  const user = await factories.users.create()
  await db.$client.unsafe(signUpSql, [scope.email('signup')])
  await factories.counters.createList(2)
  expect(user.email.startsWith(scope.prefix)).toBe(true)
  console.log('GOOD_FIRST_DONE')
})

test('finds the rows of its first test cleaned up', async ({ factories, run, db }) => {
  const [row] = await db.$client.unsafe(
    \`select count(*)::int as n from "\${schema}".users where starts_with(email, $1)\`,
    [run.prefix],
  )
  expect(row.n).toBe(0)
  await factories.teams.create()
  console.log('GOOD_SECOND_DONE')
})
`

describe('a Vitest worker SIGKILLed mid-test (pool forks, 2 workers, no tagColumns)', () => {
  const app = serialApp(`lk_vcrash_${Math.random().toString(36).slice(2, 8)}`)
  const runTag = createRunTag()
  let sql: postgres.Sql
  let dir: string | undefined

  const counts = async () => {
    const out: Record<string, number> = {}
    for (const table of tables) {
      const [row] = await sql.unsafe<Array<{ n: number }>>(`select count(*)::int as n from "${app.schema}".${table}`)
      out[table] = row!.n
    }
    return out
  }

  beforeAll(async () => {
    sql = postgres(url, { max: 1, onnotice: () => {} })
    for (const statement of app.ddl) await sql.unsafe(statement)
  })

  afterAll(async () => {
    if (dir) removeProject(dir)
    if (sql) {
      // Housekeeping when the test failed: this run's registry rows, then the schema.
      await sql.unsafe(`delete from leakless.untagged where prefix like $1`, [`${runTag}-%`]).catch(() => undefined)
      for (const table of ['processes', 'tag_columns', 'runs']) {
        await sql.unsafe(`delete from leakless.${table} where run_tag = $1`, [runTag]).catch(() => undefined)
      }
      await sql.unsafe(`drop schema if exists "${app.schema}" cascade`)
      await sql.end()
    }
  })

  test("the global teardown removes every row of the dead worker, the app's included; the other file passes", async () => {
    // The build lock of the adapters global setup, held while the project runs on dist/: another
    // suite's build (tsup empties dist/ first) waits instead of pulling it from under this run.
    const result = await withFileLock(
      join(repoRoot, 'dist.lock'),
      () => {
        dir = writeProject('vitest-registry-crash', {
          'vitest.config.ts': vitestConfig(),
          // No tagColumns, no schemas: what the factories show, the registry and discovery must be enough.
          'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ onLeak: 'fail' })\n`,
          'app.ts': serialAppModule(app.schema),
          'fixtures.ts': fixturesFile(app),
          'crash.test.ts': crashSpec,
          'good.test.ts': goodSpec(app.schema),
        })
        return runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })
      },
      { timeoutMs: 120_000, onTimeout: (pid) => new Error(`another build (pid ${pid}) holds dist.lock`) },
    )

    // The worker did die mid-test, after making its rows.
    const crashedFile = join(dir!, 'crashed.json')
    expect(existsSync(crashedFile), result.output).toBe(true)
    const crashed = JSON.parse(readFileSync(crashedFile, 'utf8')) as { pid: number; prefix: string; email: string }
    expect(crashed.prefix.startsWith(`${runTag}-`)).toBe(true)

    // What Vitest 4 says about a fork that died: an unhandled error, the file is not counted as run.
    expect(result.output).toContain('Error: [vitest-pool]: Worker forks emitted error.')
    expect(result.output).toContain('Caused by: Error: Worker exited unexpectedly')
    expect(result.output).toContain('Errors  1 error')
    // The other worker's file ran on and passed, and its rows were cleaned up after each test.
    expect(result.output).toMatch(/✓ good\.test\.ts \(2 tests\)/)
    expect(result.output).toContain('GOOD_SECOND_DONE')
    expect(result.output).not.toMatch(/FAIL\s+good\.test\.ts/)
    expect(result.output).toContain('Test Files  1 passed (2)')

    // The teardown swept the dead worker, exactly the rows of its unfinished test: 2 users (factory and
    // sign-up), 2 teams (factory, and the app's, found by its name), the app's member and log, 3 counters.
    const swept = [
      ...result.output.matchAll(
        /^leakless: worker (\d+) \(pid (\d+)\) left (\d+) rows? after it ended.*swept them: (.+)\.$/gm,
      ),
    ]
    expect(swept, result.output).toHaveLength(1)
    expect(Number(swept[0]![2])).toBe(crashed.pid)
    expect(Number(swept[0]![3])).toBe(9)
    const perTable = Object.fromEntries(
      swept[0]![4]!.split(', ').map((part) => {
        const [table, n] = part.split(' ')
        return [table, Number(n)]
      }),
    )
    expect(perTable).toEqual({
      [`${app.schema}.users`]: 2,
      [`${app.schema}.teams`]: 2,
      [`${app.schema}.team_members`]: 1,
      [`${app.schema}.activity_logs`]: 1,
      [`${app.schema}.counters`]: 3,
    })
    // onLeak: 'fail' — a crashed worker's leftovers fail the run (besides Vitest's own error).
    expect(result.output).toContain("leakless: the run fails (onLeak: 'fail').")
    expect(result.code).toBe(1)

    // Nothing of the run is left: no row in any table of the app, nothing in the registry.
    expect(await counts()).toEqual({ users: 0, teams: 0, team_members: 0, activity_logs: 0, counters: 0 })
    const [registry] = await sql.unsafe<Array<{ processes: number; untagged: number; runs: number }>>(
      `select (select count(*)::int from leakless.processes where run_tag = $1) as processes,
        (select count(*)::int from leakless.untagged where prefix like $2) as untagged,
        (select count(*)::int from leakless.runs where run_tag = $1) as runs`,
      [runTag, `${runTag}-%`],
    )
    expect(registry).toEqual({ processes: 0, untagged: 0, runs: 0 })
  })
})
