/**
 * `leaklessTest({ db })` under the real Vitest and the real Playwright: the user's drizzle instance on a
 * pg Pool, and a function returning a postgres.js one. The `db` fixture is that instance, rows are
 * cleaned to zero, the audit runs on it (a deliberate late write is reported), and the user's pool still
 * works after the worker's run closed. A bad `db` is a DB_UNSUPPORTED error naming it.
 */
import { readFileSync } from 'node:fs'
import { afterAll, expect, inject, test } from 'vitest'
import { sectionFiles } from '../support/doc-section.js'
import { runVitest } from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, freePort, removeProject, repoRoot, run, writeProject } from './harness.js'

const url = inject('database').url
const NO_ROWS = { users: 0, sessions: 0, bookings: 0, activity: 0 }
const FACTORIES = JSON.stringify(`${repoRoot}factories/index.js`)
const projects: string[] = []
afterAll(() => projects.forEach(removeProject))

/** The user's databases: a drizzle instance on a pg Pool, and a function that makes a postgres.js one. */
const DB_MODULE = `import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import pg from 'pg'
import postgres from 'postgres'
import { schema } from ${FACTORIES}

export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 3 })
export const poolDb = drizzlePg(pool, { schema })
console.log(\`POOL_CREATED pid=\${process.pid}\`)

const client = postgres(process.env.DATABASE_URL!, { max: 3, onnotice: () => {} })
export const made: unknown[] = []
export async function makeDb() {
  const db = drizzlePostgres(client, { schema })
  made.push(db)
  console.log(\`MAKE_DB pid=\${process.pid} calls=\${made.length}\`)
  return db
}
`

/** One test body for both runners: the fixture is the user's instance; factories, raw SQL and cleanup run on it. */
const graphTest = (expected: string) => `async ({ db, factories, scope, run }) => {
    expect(db === ${expected}).toBe(true)
    const parent = await factories.users.create()
    await factories.sessions.createList(2, { userId: parent.id })
    await factories.bookings.create({ parentId: parent.id })
    await db.execute(sql\`insert into activity (user_id, action) values (\${parent.id}, 'booked')\`)
    const result = await db.execute(sql\`select count(*)::int as n from users where starts_with(id, \${scope.prefix})\`)
    const rows = Array.isArray(result) ? result : result.rows
    expect(rows[0].n).toBe(2)
    console.log(\`GRAPH pid=\${process.pid} prefix=\${run.prefix} lease=\${run.lease?.held}\`)
  }`

/**
 * A test that leaves `writeLate` behind: a row with its id, written by what runs next in its process (after
 * the test's cleanup, before the run closes); the close's audit must report it. The file declares `writeLate`.
 */
const lateWrite = `async ({ db, scope }) => {
    const id = scope.id('late')
    console.log(\`LATE_ID=\${id}\`)
    writeLate = () =>
      db.execute(sql\`insert into users (id, email, name) values (\${id}, \${id + '@example.test'}, 'Late')\`).then(
        () => console.log('LATE_WRITTEN'),
        (error) => console.log('LATE_FAILED', error),
      )
  }`
const lateWriteDeclared = 'let writeLate = async (): Promise<void> => {}\n'

test("Vitest: a pg Pool drizzle instance and a function returning postgres.js; the pool outlives each file; a bad db fails its file; the README's example passes", async () => {
  const vitestImports = `import { sql } from 'drizzle-orm'
import { afterAll, expect } from 'vitest'
import { test } from './fixtures.js'
`
  const poolSpec = (file: string) => `${vitestImports}import { poolDb } from './db.js'

test('${file} graph on the pool', ${graphTest('poolDb')})
`
  const dir = writeProject('vitest-user-db', {
    // One process for every file (isolate: false): a file runs after another file's run closed on the same pool.
    'vitest.config.ts': `import { defineConfig } from 'vitest/config'
export default defineConfig({ test: { pool: 'forks', maxWorkers: 1, isolate: false, include: ['**/*.test.ts'], globalSetup: ['leakless/vitest/global-setup'] } })
`,
    'db.ts': DB_MODULE,
    // The README's example as written, on the user's schema and factories (the reference domain's).
    ...sectionFiles('README.md', '## The `db` fixture and your own database'),
    'db/schema.ts': `export * from ${JSON.stringify(`${repoRoot}factories/schema.ts`)}\n`,
    'factories/index.ts': `export * from ${FACTORIES}\n`,
    'fixtures.ts': `import { leaklessTest } from 'leakless/vitest'
import { factories } from ${FACTORIES}
import { makeDb, poolDb } from './db.js'

export const test = leaklessTest({ factories, db: poolDb })
export const fnTest = leaklessTest({ factories, db: makeDb })
`,
    'a-pool.test.ts': poolSpec('a'),
    'b-pool.test.ts': poolSpec('b'),
    'c-fn.test.ts': `${vitestImports}import { made } from './db.js'
import { fnTest } from './fixtures.js'

${lateWriteDeclared}
fnTest('graph on what makeDb made', ${graphTest('made.at(-1)')})
fnTest('writes late', ${lateWrite})
afterAll(() => writeLate())
`,
    'd-bad.test.ts': `import { leaklessTest } from 'leakless/vitest'
export const test = leaklessTest({ db: 'postgres://app:secret@127.0.0.1:5432/app_test' as never })
test('never runs', () => {})
`,
    'e-bad-fn.test.ts': `import { leaklessTest } from 'leakless/vitest'
import { pool } from './db.js'
const test = leaklessTest({ db: (() => pool) as never })
test('gets no db', ({ db }) => console.log('UNREACHABLE', typeof db))
`,
  })
  projects.push(dir)
  const runTag = createRunTag()
  const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag })
  const { output } = result

  // Every file in one process; each pool file on a run of its own, after the previous run's close.
  const graphs = [...output.matchAll(/GRAPH pid=(\d+) prefix=(\S+) lease=(\S+)/g)]
  expect(graphs, output).toHaveLength(3)
  expect(new Set(graphs.map((m) => m[1])).size).toBe(1)
  expect(new Set(graphs.map((m) => m[2])).size).toBe(3)
  expect(graphs.every((m) => m[3] === 'true')).toBe(true)
  // …and all on the one pool the module made: each file after the first used it after a run's close.
  expect(output.match(/POOL_CREATED/g)).toHaveLength(1)
  // The function is called once for its file (c), not for the pool's files.
  expect([...output.matchAll(/MAKE_DB pid=\d+ calls=(\d+)/g)].map((m) => m[1])).toEqual(['1'])

  // The late write of c-fn is found by the file's audit on the user's postgres.js instance.
  const lateId = /LATE_ID=(\S+)/.exec(output)?.[1]
  expect(output).toContain('LATE_WRITTEN')
  expect(output).toContain('FAIL  c-fn.test.ts [ c-fn.test.ts ]')
  expect(output).toContain('LeakError: leaks found when this test file ended and its run context closed:')
  expect(output).toMatch(
    new RegExp(`public\\.users \\(1 row\\)\\n  test "c-fn\\.test\\.ts > writes late"\\n    id=${lateId}`),
  )

  // A bad db: the file fails when it defines its test (the password not shown), or the fixture when the function returns junk.
  expect(output).toContain(
    'ConnectionError: leaklessTest() of leakless/vitest: db is the string "postgres://app:***@127.0.0.1:5432/app_test". A URL belongs in DATABASE_URL',
  )
  expect(/ConnectionError: .* db is the string .*/.exec(output)?.[0]).not.toContain('secret') // (the code frame shows the spec's line)
  expect(output).toContain(
    'ConnectionError: leaklessTest() of leakless/vitest: the function passed as db returned a node-postgres Pool (not a drizzle instance).',
  )
  expect(output).not.toContain('UNREACHABLE')
  expect(output).toMatch(/✓ test\/raw-sql\.test\.ts \(1 test\)/)
  expect(output).toContain('Test Files  3 failed | 3 passed (6)')
  expect(result.code).toBe(1)
  expect(await countRunRows(url, runTag)).toEqual(NO_ROWS)
})

test('Playwright: a pg Pool drizzle instance and a function returning postgres.js, one worker each; the pool works after its worker closed', async () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/playwright/${name}`, import.meta.url), 'utf8')
  const playwrightImports = `import { expect } from '@playwright/test'
import { sql } from 'drizzle-orm'
import { leaklessTest } from 'leakless/playwright'
import { factories } from ${FACTORIES}
`
  const dir = writeProject('playwright-user-db', {
    'playwright.config.ts': fixture('playwright.config.ts'),
    'server.mjs': fixture('server.mjs'),
    'tsconfig.json': fixture('tsconfig.json'),
    'leakless.config.ts': `export default {}\n`,
    'tests/db.ts': DB_MODULE,
    'tests/pool.spec.ts': `${playwrightImports}import { pool, poolDb } from './db.js'

let lastRun: { lease: { held: boolean } | null } | undefined
const test = leaklessTest({ factories, db: poolDb }).extend<object, { probe: void }>({
  // Set up before the worker's run, so torn down after its close.
  probe: [
    async ({}, use) => {
      await use()
      const { rows } = await pool.query('select 1 as n')
      console.log(\`POOL_AFTER_CLOSE n=\${rows[0].n} lease=\${lastRun?.lease?.held} ended=\${pool.ended}\`)
    },
    { scope: 'worker', auto: true },
  ],
})

for (const n of [1, 2]) {
  test(\`pool graph \${n}\`, async ({ db, factories, scope, run }) => {
    lastRun = run
    await (${graphTest('poolDb')})({ db, factories, scope, run })
  })
}

test('a bad db is refused when the test is defined', () => {
  expect(() => leaklessTest({ db: pool as never })).toThrow(
    "leaklessTest() of leakless/playwright: db is a node-postgres Pool (not a drizzle instance). Wrap it: drizzle(pool) from 'drizzle-orm/node-postgres'.",
  )
})
`,
    'tests/fn.spec.ts': `${playwrightImports}import { made, makeDb } from './db.js'

const test = leaklessTest({ factories, db: makeDb })
test.describe.configure({ mode: 'serial' })

${lateWriteDeclared}
test('graph on what makeDb made', ${graphTest('made.at(-1)')})
test('writes late', async ({ db, scope }) => {
  await (${lateWrite})({ db, scope })
})
test('writes the late row', async ({ scope }) => {
  await writeLate()
  expect(scope.prefix).toBeTruthy()
})
`,
  })
  projects.push(dir)
  const runTag = createRunTag()
  const cli = `${repoRoot}node_modules/@playwright/test/cli.js`
  const result = await run(process.execPath, [cli, 'test'], {
    cwd: dir,
    env: { DATABASE_URL: url, APP_PORT: String(await freePort()), LEAKLESS_RUN: runTag, PW_WORKERS: '2' },
    timeoutMs: 120_000,
  })
  const { output } = result

  const graphs = [...output.matchAll(/GRAPH pid=(\d+) prefix=(\S+) lease=(\S+)/g)]
  expect(graphs, output).toHaveLength(3)
  // The function ran once, in the fn.spec.ts worker.
  expect([...output.matchAll(/MAKE_DB pid=\d+ calls=(\d+)/g)].map((m) => m[1])).toEqual(['1'])
  // After the pool worker's run closed (its lease released), the user's pool still answers.
  expect(output).toContain('POOL_AFTER_CLOSE n=1 lease=false ended=false')
  // The late write is reported when the fn worker's run closes on the user's postgres.js instance.
  const lateId = /LATE_ID=(\S+)/.exec(output)?.[1]
  expect(output).toContain('LATE_WRITTEN')
  expect(lateId).toMatch(new RegExp(`^${runTag}-`))
  expect(output).toContain("appeared after their test's cleanup had run")
  expect(output).toContain(`id=${lateId}`)
  expect(output).toMatch(/worker \d left rows behind/)
  expect(output).toContain('6 passed')
  expect(result.code).toBe(1)
  expect(await countRunRows(url, runTag)).toEqual(NO_ROWS)
})
