/**
 * Isolation 'schema' and 'database' under the real Vitest (2 workers, a process per file): each test file
 * gets a schema of its own on search_path, or a database of its own cloned from the run's template, so
 * whole-table counts are exact while the other worker writes; nothing of the run is left afterwards.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, inject, test } from 'vitest'
import { leaklessConfig, runVitest, vitestConfig } from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, removeProject, runStoresLeft, repoRoot, writeProject } from './harness.js'

const url = inject('database').url
const factoriesPath = JSON.stringify(join(repoRoot, 'factories/index.ts'))
const projects: string[] = []
afterAll(() => projects.forEach(removeProject))

// Isolation per Vitest project, over a leakless.config.ts that says nothing about it.
const fixtures = (mode: string) => `import { leaklessTest } from 'leakless/vitest'
import { sessions, users } from ${factoriesPath}

export const test = leaklessTest({ factories: { users, sessions }, config: { isolation: '${mode}' } })
`

/** Tests that each create `i` users (and a session) and count every row of users and sessions. */
const countingSpec = (file: string, count: number) => `import { sql } from 'drizzle-orm'
import { expect } from 'vitest'
import { test } from './fixtures.js'

for (let i = 1; i <= ${count}; i++) {
  test(\`${file} test \${i}\`, async ({ factories, db }) => {
    const created = await factories.users.createList(i)
    await factories.sessions.create({ userId: created[0].id })
    // Give the other worker time to write into its own schema meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const [row] = await db.execute(
      sql\`select (select count(*)::int from users) as users, (select count(*)::int from sessions) as sessions, current_schema() as schema, current_database() as database, now() = statement_timestamp() as committed\`,
    )
    expect({ users: row.users, sessions: row.sessions }).toEqual({ users: i, sessions: 1 })
    // Committed and cleaned up after the test, not held in a transaction rolled back after it.
    expect(row.committed).toBe(true)
    console.log(\`STORE=\${row.schema}/\${row.database} POOL=\${process.env.VITEST_POOL_ID}\`)
  })
}
`

test.each(['schema', 'database'] as const)(
  "2 workers, 3 files under isolation '%s': exact whole-table counts, and nothing of the run left",
  async (mode) => {
    const dir = writeProject(`vitest-${mode}`, {
      'vitest.config.ts': vitestConfig(),
      'leakless.config.ts': leaklessConfig(`migrations: ${JSON.stringify(join(repoRoot, 'factories/migrations'))}`),
      'fixtures.ts': fixtures(mode),
      ...Object.fromEntries(['a', 'b', 'c'].map((f) => [`${f}.test.ts`, countingSpec(f, 4)])),
    })
    projects.push(dir)
    const runTag = createRunTag()
    const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    expect(result.output).toContain('Test Files  3 passed (3)')
    expect(result.output).toContain('Tests  12 passed (12)')
    expect(result.code).toBe(0)
    const seen = [...result.output.matchAll(/STORE=(\S+)\/(\S+) POOL=(\d+)/g)]
    expect(seen).toHaveLength(12)
    expect(new Set(seen.map((m) => m[3])).size).toBe(2) // both workers ran tests
    const base = new URL(url).pathname.slice(1)
    // One schema or database per file, named from its run context's prefix.
    const stores = new Set(seen.map((m) => (mode === 'schema' ? m[1]! : m[2]!)))
    expect(stores.size).toBe(3)
    for (const store of stores) {
      expect(store).toMatch(new RegExp(`^${mode === 'schema' ? '' : `${base}_`}${runTag}_[1-9]\\d*$`))
    }
    if (mode === 'database') expect(new Set(seen.map((m) => m[1]))).toEqual(new Set(['public']))

    expect(await runStoresLeft(url, runTag)).toEqual({ schemas: [], databases: [], records: [] })
    expect(await countRunRows(url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
  },
)

// A file whose second test makes a user in its store, notes where, and SIGKILLs its own worker.
const crashSpec = `import { writeFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import { test } from './fixtures.js'

test('passes', async ({ factories }) => {
  await factories.users.create()
})

test('makes a user, then its worker is killed', async ({ factories, db }) => {
  await factories.users.create()
  const [row] = await db.execute(sql\`select current_schema() as schema, current_database() as database\`)
  // The console of a killed worker never reaches Vitest: a file does.
  writeFileSync('crashed.json', JSON.stringify(row))
  process.kill(process.pid, 'SIGKILL')
  await new Promise(() => {})
})
`

test.each(['schema', 'database'] as const)(
  "isolation '%s': a worker killed mid-test leaves its store, which the run's teardown drops; the other files pass",
  async (mode) => {
    const dir = writeProject(`vitest-${mode}-crash`, {
      'vitest.config.ts': vitestConfig(),
      'leakless.config.ts': leaklessConfig(`migrations: ${JSON.stringify(join(repoRoot, 'factories/migrations'))}`),
      'fixtures.ts': fixtures(mode),
      'crash.test.ts': crashSpec,
      ...Object.fromEntries(['a', 'b'].map((f) => [`${f}.test.ts`, countingSpec(f, 3)])),
    })
    projects.push(dir)
    const runTag = createRunTag()
    const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    const crashed = JSON.parse(readFileSync(join(dir, 'crashed.json'), 'utf8')) as { schema: string; database: string }
    const store = mode === 'schema' ? crashed.schema : crashed.database
    expect(store).toContain(runTag)
    // The killed file's worker is an error of the run; the other two files pass, in stores of their own.
    expect(result.output).toContain('Worker exited unexpectedly')
    expect(result.output).toContain('Test Files  2 passed (3)')
    expect(result.code).toBe(1)
    expect(await runStoresLeft(url, runTag)).toEqual({ schemas: [], databases: [], records: [] })
  },
)
