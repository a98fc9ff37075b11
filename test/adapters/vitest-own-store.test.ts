/**
 * Isolation 'schema' and 'database' under the real Vitest (2 workers, a process per file): each test file
 * gets a schema of its own on search_path, or a database of its own cloned from the run's template, so
 * whole-table counts are exact while the other worker writes; nothing of the run is left afterwards.
 */
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, expect, inject, test } from 'vitest'
import { leaklessConfig, runVitest, vitestConfig } from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, removeProject, repoRoot, writeProject } from './harness.js'

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

    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      const schemas = await sql`select nspname from pg_namespace where starts_with(nspname, ${`${runTag}_`})`
      expect(schemas).toEqual([])
      const databases = await sql`select datname from pg_database where strpos(datname, ${runTag}) > 0`
      expect(databases).toEqual([])
      const recorded = await sql`select name from leakless.created_resources where run_tag = ${runTag}`
      expect(recorded).toEqual([])
    } finally {
      await sql.end()
    }
    expect(await countRunRows(url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
  },
)
