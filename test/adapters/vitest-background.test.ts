/**
 * `cleanup: 'background'` under the real Vitest (2 forks): a test's cleanup runs while the next test of
 * the file starts, the file's close waits for it before the audit, a background cleanup that fails fails
 * the file naming its test, and a failing test still shows its own error.
 */
import postgres from 'postgres'
import { afterAll, describe, expect, inject, test } from 'vitest'
import { leaklessConfig, runVitest, vitestConfig } from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, removeProject, repoRoot, writeProject } from './harness.js'

const url = inject('database').url
const noRows = { users: 0, sessions: 0, bookings: 0, activity: 0 }
const factoriesPath = JSON.stringify(`${repoRoot}factories/index.ts`)
const projects: string[] = []
afterAll(() => projects.forEach(removeProject))

function project(name: string, files: Record<string, string>): string {
  const dir = writeProject(name, files)
  projects.push(dir)
  return dir
}

/** `fixtures.ts` with `leaklessTest({ config })` (the per-project override) when given. */
const fixtures = (config?: string) => `import { leaklessTest } from 'leakless/vitest'
import { bookings, sessions, users } from ${factoriesPath}

export const test = leaklessTest({ factories: { users, sessions, bookings }${config ? `, config: ${config}` : ''} })
`

/**
 * A file whose first test ends while another connection locks its user (so its cleanup cannot finish);
 * the second test starts anyway, sees the first test's rows, then lets go. More tests follow, each
 * counting only its own rows. With cleanup after each test, the first test's cleanup would wait for the
 * lock and fail (CLEANUP_LOCK_TIMEOUT).
 */
const backgroundSpec = (file: string) => `import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { afterAll, expect } from 'vitest'
import { test } from './fixtures.js'

const locker = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} })
let held
let first

afterAll(() => locker.end())

const graph = async (factories) => {
  const [parent, instructor] = await factories.users.createList(2)
  await factories.sessions.createList(2, { userId: parent })
  await factories.bookings.createList(3, { parentId: parent, instructorId: instructor })
  return parent
}
const rowsOf = async (db, prefix) => {
  const [row] = await db.execute(sql\`select (select count(*) from users where starts_with(id, \${prefix})) + (select count(*) from sessions where starts_with(id, \${prefix})) + (select count(*) from bookings where starts_with(id, \${prefix})) as n\`)
  return Number(row.n)
}

test('${file} 1 ends while its user is locked', async ({ factories, scope }) => {
  const parent = await graph(factories)
  first = scope.prefix
  held = await locker.reserve()
  await held\`begin\`
  await held\`select id from users where id = \${parent.id} for update\`
})

test('${file} 2 starts before that cleanup ended', async ({ factories, scope, db }) => {
  await graph(factories)
  expect(await rowsOf(db, first)).toBe(7)
  expect(await rowsOf(db, scope.prefix)).toBe(7)
  await held\`commit\`
  held.release()
  console.log('BACKGROUND_SEEN')
})

for (let i = 3; i <= 5; i++) {
  test(\`${file} \${i}\`, async ({ factories, scope, db }) => {
    await graph(factories)
    expect(await rowsOf(db, scope.prefix)).toBe(7)
  })
}
`

describe("cleanup: 'background'", () => {
  test('leaklessTest({ config: { cleanup } }), 2 workers, 4 files: all pass, every row gone, the audits clean', async () => {
    const dir = project('vitest-background', {
      'vitest.config.ts': vitestConfig(),
      'fixtures.ts': fixtures(`{ cleanup: 'background' }`),
      ...Object.fromEntries(['a', 'b', 'c', 'd'].map((f) => [`${f}.test.ts`, backgroundSpec(f)])),
    })
    const runTag = createRunTag()
    const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

    expect(result.output).toContain('Test Files  4 passed (4)')
    expect(result.output).toContain('Tests  20 passed (20)')
    expect(result.output.match(/BACKGROUND_SEEN/g)).toHaveLength(4)
    expect(result.output).not.toMatch(/LeakError|CleanupError|leaks found/)
    expect(result.code).toBe(0)
    expect(await countRunRows(url, runTag)).toEqual(noRows)
  })

  describe('a background cleanup that fails, in a file whose other test fails on its own', () => {
    // A schema of this test alone (see vitest.test.ts): a nullable reference to users without a tag.
    const schema = `lk_vitest_bg_${Math.random().toString(36).slice(2, 8)}`
    const table = `${schema}.notes`
    const notesSpec = `import { sql } from 'drizzle-orm'
import { afterAll, expect } from 'vitest'
import { noteCleaner, test } from './fixtures.js'

test('leaves a note', async ({ factories, db }) => {
  const user = await factories.users.create()
  await db.execute(sql.raw(\`insert into ${table} (user_id) values ('\${user.id}')\`))
  console.log(\`USER=\${user.id}\`)
})

test('fails on its own', async ({ factories }) => {
  const user = await factories.users.create()
  expect(user.role).toBe('admin')
})

// Long after the first test's background cleanup failed: the note goes, so the file's close can clean up.
afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await noteCleaner()
})
`

    test("fails the file naming the test (leakless.config.ts cleanup: 'background'); the failing test's own error is shown", async () => {
      const sql = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await sql.unsafe(
          `create schema ${schema}; create table ${table} (id serial primary key, user_id text references public.users(id))`,
        )
        const dir = project('vitest-background-fails', {
          'vitest.config.ts': vitestConfig(),
          'leakless.config.ts': leaklessConfig(`schemas: ['public', '${schema}'], cleanup: 'background'`),
          'fixtures.ts': `${fixtures()}
import postgres from 'postgres'
export async function noteCleaner() {
  const sql = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} })
  await sql.unsafe('delete from ${table}')
  await sql.end()
}
`,
          'notes.test.ts': notesSpec,
        })
        const runTag = createRunTag()
        const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })

        const user = /USER=(\S+)/.exec(result.output)?.[1]
        expect(user).toMatch(new RegExp(`^${runTag}-`))
        // The failing test's own error, and its report says where its rows went.
        expect(result.output).toContain("AssertionError: expected 'parent' to be 'admin'")
        expect(result.output).toContain('leakless: test "notes.test.ts > fails on its own" failed.')
        expect(result.output).toContain("(cleanup: 'background' deletes them after the test")
        // The background failure fails the file and names the test it belongs to.
        expect(result.output).toContain('FAIL  notes.test.ts [ notes.test.ts ]')
        expect(result.output).toContain(
          "CleanupError: leakless: the background cleanup (cleanup: 'background') of 1 test failed in this test file:",
        )
        expect(result.output).toContain(`test "notes.test.ts > leaves a note" (ids ${runTag}-`)
        expect(result.output).toContain(
          `CleanupError CLEANUP_NULLABLE_DEPENDENT: Cleanup stopped, nothing deleted: ${table}.user_id references a row this cleanup owns`,
        )
        expect(result.output).toContain('Tests  1 failed | 1 passed (2)')
        expect(result.code).toBe(1)
        expect(await countRunRows(url, runTag)).toEqual(noRows)
      } finally {
        await sql.unsafe(`drop table if exists ${table}; drop schema if exists ${schema}`)
        await sql.end()
      }
    })
  })
})
