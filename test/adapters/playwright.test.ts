import { readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { describe, expect, expectTypeOf, inject, test } from 'vitest'
import type { Session, User } from '../../factories/schema.js'
import { startEmbedded } from '../../src/db/index.js'
import { decodeId, type RunContext, type TestScope } from '../../src/index.js'
import type { CreatedRowsAttachment, LoginCookie } from '../../src/playwright/index.js'
import { countRunRows, createRunTag, removeProject, repoRoot, run, writeProject, type RunResult } from './harness.js'

const database = inject('database')
const NO_ROWS = { users: 0, sessions: 0, bookings: 0, activity: 0 }
const fixture = (name: string) => readFileSync(new URL(`./fixtures/playwright/${name}`, import.meta.url), 'utf8')
const FACTORIES = `${repoRoot}factories/index.js`

/** A Playwright project: the fixture config, app server and tsconfig, a leakless.config.ts, and `specs`. */
function playwrightProject(name: string, specs: Record<string, string>): string {
  return writeProject(`playwright-${name}`, {
    'playwright.config.ts': fixture('playwright.config.ts'),
    'server.mjs': fixture('server.mjs'),
    'tsconfig.json': fixture('tsconfig.json'),
    'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${JSON.stringify(`${repoRoot}factories/migrations`)} })\n`,
    ...Object.fromEntries(Object.entries(specs).map(([file, body]) => [`tests/${file}`, body])),
  })
}

/** `npx playwright test …args` in `dir`, with the shared database and run tag unless `env` says otherwise. */
async function playwright(dir: string, args: string[], env: Record<string, string | undefined>): Promise<RunResult> {
  const cli = `${repoRoot}node_modules/@playwright/test/cli.js`
  const port = String(await freePort())
  return run(process.execPath, [cli, 'test', ...args], {
    cwd: dir,
    env: { DATABASE_URL: database.url, APP_PORT: port, ...env },
    timeoutMs: 120_000,
  })
}

interface TestResult {
  title: string
  status: string
  workerIndex: number
  retry: number
  rows: CreatedRowsAttachment | null
}

/** The JSON reporter's results, with the `leakless-created-rows` attachment decoded. */
function results(dir: string): TestResult[] {
  type Suite = {
    specs?: Array<{
      title: string
      tests: Array<{
        results: Array<{
          status: string
          workerIndex: number
          retry: number
          attachments: Array<{ name: string; body?: string }>
        }>
      }>
    }>
    suites?: Suite[]
  }
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { suites: Suite[] }
  const out: TestResult[] = []
  const walk = (suite: Suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests) {
        for (const r of t.results) {
          const body = r.attachments.find((a) => a.name === 'leakless-created-rows')?.body
          out.push({
            title: spec.title,
            status: r.status,
            workerIndex: r.workerIndex,
            retry: r.retry,
            rows: body ? (JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as CreatedRowsAttachment) : null,
          })
        }
      }
    }
    for (const child of suite.suites ?? []) walk(child)
  }
  report.suites.forEach(walk)
  return out
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  await new Promise((done) => server.close(done))
  return port
}

const LOGIN_SPEC = `
import { expect } from '@playwright/test'
import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

const test = leaklessTest({ factories })

for (const n of [1, 2, 3, 4]) {
  test(\`parent \${n} sees their own email\`, async ({ page, factories, loginAs }) => {
    const parent = await factories.users.trait('parent').create()
    await factories.bookings.create({ parentId: parent })
    await loginAs(parent)
    await page.goto('/')
    await expect(page.locator('#who')).toHaveText(\`Signed in as \${parent.email}\`)
  })
}

test('without loginAs the app sees nobody', async ({ page, factories }) => {
  await factories.users.create()
  await page.goto('/')
  await expect(page.locator('#who')).toHaveText('Signed out')
})
`

/** 3 tests that each create users, sessions and bookings; 3 such files give both shards and all their workers some. */
const shardSpec = (file: string) => `
import { expect } from '@playwright/test'
import { count, eq } from 'drizzle-orm'
import { leaklessTest } from 'leakless/playwright'
import { factories, schema } from '${FACTORIES}'

const test = leaklessTest({ factories })

for (const n of [1, 2, 3]) {
  test(\`${file} graph \${n}\`, async ({ factories, db }) => {
    const parents = await factories.users.createList(3)
    const sessions = await factories.sessions.createList(2, { userId: parents[0] })
    const bookings = await factories.bookings.createList(2, { parentId: parents[1] })
    const [row] = await db.select({ n: count() }).from(schema.sessions).where(eq(schema.sessions.userId, parents[0]!.id))
    expect(row!.n).toBe(sessions.length)
    expect(bookings).toHaveLength(2)
  })
}
`

const CRASH_SPEC = `
import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

const test = leaklessTest({ factories })

test('crashes its worker on the first attempt', async ({ factories }, testInfo) => {
  const user = await factories.users.create()
  const session = await factories.sessions.create({ userId: user })
  console.log(\`created by crash attempt \${testInfo.retry} in w\${testInfo.workerIndex} p\${process.pid}: \${user.id} \${session.id}\`)
  if (testInfo.retry === 0) process.exit(1)
})

test('runs on the restarted worker', async ({ factories }, testInfo) => {
  const user = await factories.users.create()
  console.log(\`created by next attempt \${testInfo.retry} in w\${testInfo.workerIndex} p\${process.pid}: \${user.id}\`)
})
`

const FAILING_SPEC = `
import { expect } from '@playwright/test'
import { leaklessTest } from 'leakless/playwright'
import { factories, schema } from '${FACTORIES}'

const test = leaklessTest({ factories }).extend<{ production: void }>({
  // Torn down after the scope's cleanup ran (fixtures tear down in reverse order): the worker's close works again.
  production: async ({}, use) => {
    await use()
    delete process.env.NODE_ENV
  },
})

// The first test's late write, made by the next test: after the first one's cleanup, before the worker closes.
let writeLate = async () => {}

test('writes a row after its cleanup', async ({ scope, db }) => {
  const row = { id: scope.id('late'), email: scope.email('late'), name: 'Late' }
  writeLate = async () => void (await db.insert(schema.users).values(row))
})

test('fails, and its cleanup fails too', async ({ production, factories }) => {
  const user = await factories.users.create()
  await writeLate()
  process.env.NODE_ENV = 'production'
  expect(user.name).toBe('someone else')
})
`

/** The login scenario on the embedded PostgreSQL of `dataDir` (see the test that calls it). */
async function loginRun(dataDir: string): Promise<void> {
  const runTag = createRunTag()
  const dir = playwrightProject('login', { 'login.spec.ts': LOGIN_SPEC })
  const result = await playwright(dir, [], {
    DATABASE_URL: undefined,
    LEAKLESS_DATABASE_URL: undefined,
    LEAKLESS_PG_DIR: dataDir,
    LEAKLESS_RUN: runTag,
  })
  expect(result.output).toContain('5 passed')
  expect(result.code, result.output).toBe(0)

  const tests = results(dir)
  expect(tests).toHaveLength(5)
  expect(new Set(tests.map((t) => t.workerIndex))).toEqual(new Set([0, 1]))
  for (const t of tests.filter((t) => t.title.startsWith('parent'))) {
    const rows = t.rows!
    expect(rows.prefix.startsWith(`${runTag}-`)).toBe(true)
    expect(Object.keys(rows.rows).sort()).toEqual(['public.bookings', 'public.sessions', 'public.users'])
    expect(rows.rows['public.users']).toHaveLength(2) // the parent, and the booking's instructor
    const [session] = rows.rows['public.sessions']!
    expect(session!.factory).toBe('sessions')
    expect(String(session!.key.id).startsWith(rows.prefix)).toBe(true)
    expect(rows.deleted).toEqual({ 'public.bookings': 1, 'public.sessions': 1, 'public.users': 2 })
  }
  expect(new Set(tests.map((t) => t.rows!.prefix)).size).toBe(5)

  // The Playwright process stopped the server it started; start it again to look.
  const server = await startEmbedded({ dataDir })
  try {
    expect(server.startedHere).toBe(true)
    expect(await countRunRows(server.url, runTag)).toEqual(NO_ROWS)
  } finally {
    await server.stop()
  }
  removeProject(dir)
}

describe('leakless/playwright', () => {
  test('webServer app on the embedded database: loginAs signs the factory user in, 2 workers, rows listed and gone', async () => {
    // No DATABASE_URL: startDatabase() in playwright.config.ts starts a fresh embedded PostgreSQL before
    // Playwright starts the webServer, and the app, the global setup and the workers all use it.
    const dataDir = join(tmpdir(), `leakless-pw-${randomBytes(4).toString('hex')}`)
    try {
      await loginRun(dataDir)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
      rmSync(`${dataDir}.lock`, { force: true })
    }
  })

  test('--shard=1/2 and --shard=2/2 at once on one database and one LEAKLESS_RUN: no collisions, each shard clean, run audit clean', async () => {
    const runTag = createRunTag()
    const specs = { 'a.spec.ts': shardSpec('a'), 'b.spec.ts': shardSpec('b'), 'c.spec.ts': shardSpec('c') }
    const dirs = [playwrightProject('shard1', specs), playwrightProject('shard2', specs)]
    const [one, two] = await Promise.all(
      dirs.map((dir, i) => playwright(dir, [`--shard=${i + 1}/2`], { LEAKLESS_RUN: runTag })),
    )
    for (const [i, result] of [one!, two!].entries()) {
      expect(result.code, result.output).toBe(0)
      expect(result.output).not.toMatch(/unique|INSERT_/i)
      // The guard's notice: once, from the global setup, not once per worker.
      expect(result.output.match(/leakless: destructive SQL allowed on /g), result.output).toHaveLength(1)
      const tests = results(dirs[i]!)
      expect(tests.length).toBeGreaterThanOrEqual(4)
      for (const t of tests) {
        expect(t.status).toBe('passed')
        for (const entries of Object.values(t.rows!.rows)) {
          for (const entry of entries) expect(decodeId(String(entry.key.id))?.shard).toBe(i + 1)
        }
      }
    }
    expect(results(dirs[0]!).length + results(dirs[1]!).length).toBe(9)

    const audit = await run(process.execPath, [`${repoRoot}dist/cli/index.js`, 'audit', '--run', runTag], {
      cwd: repoRoot,
      env: { DATABASE_URL: database.url },
    })
    expect(audit.code, audit.output).toBe(0)
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    dirs.forEach(removeProject)
  })

  test('a worker that crashes: the restarted worker gets new ids, the global teardown sweeps the dead one and fails the run', async () => {
    const runTag = createRunTag()
    const dir = playwrightProject('crash', { 'crash.spec.ts': CRASH_SPEC })
    const result = await playwright(dir, [], { LEAKLESS_RUN: runTag, PW_WORKERS: '1', PW_RETRIES: '1' })
    expect(result.output).toContain('worker process exited unexpectedly')
    expect(result.output).toMatch(/1 flaky[\s\S]*1 passed/)

    const created = [...result.output.matchAll(/created by (crash|next) attempt (\d) in w(\d+) p(\d+): (.+)/g)].map(
      (m) => ({ attempt: `${m[1]} ${m[2]}`, worker: Number(m[3]), pid: Number(m[4]), ids: m[5]!.trim().split(' ') }),
    )
    expect(created.map((c) => c.attempt).sort()).toEqual(['crash 0', 'crash 1', 'next 0'])
    const ids = created.flatMap((c) => c.ids)
    expect(new Set(ids).size).toBe(ids.length)
    const decoded = (id: string) => decodeId(id)!
    const crashed = created.find((c) => c.attempt === 'crash 0')!
    const dead = crashed.ids.map(decoded)
    const others = created.filter((c) => c.attempt !== 'crash 0')
    const restarted = others.flatMap((c) => c.ids.map(decoded))
    expect(crashed.worker).toBe(0)
    expect(others.every((c) => c.worker >= 1 && c.pid !== crashed.pid)).toBe(true)
    // Short ids: the registry's process numbers, one per worker process, never twice.
    expect(new Set(dead.map((d) => d.process)).size).toBe(1)
    expect(restarted.every((d) => d.process !== null && d.process !== dead[0]!.process)).toBe(true)
    expect(new Set(restarted.map((d) => d.processPrefix)).has(dead[0]!.processPrefix)).toBe(false)

    // The dead worker never closed its run: the global teardown sweeps its rows and says so (worker and pid from the registry).
    expect(result.output).toContain(`worker 0 (pid ${crashed.pid}) left 2 rows after it ended`)
    expect(result.output).toMatch(
      /swept them: (public\.users 1, public\.sessions 1|public\.sessions 1, public\.users 1)/,
    )
    expect(result.output).toContain(`LeakError: leakless: run ${runTag} left rows in the database`)
    expect(result.code).toBe(1)
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)
  })

  test("a failing test keeps its own error next to its cleanup's, gets its seed; a late write fails the worker", async () => {
    const runTag = createRunTag()
    const dir = playwrightProject('failing', { 'failing.spec.ts': FAILING_SPEC })
    const result = await playwright(dir, [], { LEAKLESS_RUN: runTag, PW_WORKERS: '1' })
    expect(result.code).toBe(1)
    // The test's own failure, then the cleanup's, in the same report.
    expect(result.output).toMatch(/Expected: "someone else"[\s\S]*GuardError: leakless refused to run destructive SQL/)
    expect(result.output).toMatch(/LEAKLESS_SEED=\d+ npx playwright test tests\/failing\.spec\.ts:\d+/)
    // The late write is caught when the worker closes, and names the test whose prefix it carries.
    expect(result.output).toContain("appeared after their test's cleanup had run")
    expect(result.output).toContain('writes a row after its cleanup')
    expect(result.output).toContain('LeakError')
    expect(result.output).toContain('worker 0 left rows behind')
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)
  })
})

// Types only: tsc checks this, nothing runs it (Playwright's test() may only be called by its runner).
declare const leaklessTest: typeof import('../../src/playwright/index.js').leaklessTest
declare const referenceFactories: typeof import('../../factories/index.js').factories
export function typesOfTheFixtures(): void {
  const typed = leaklessTest({ factories: referenceFactories, login: { cookie: 'sid' } })
  typed('fixtures carry the factories row types', async ({ factories, loginAs, scope, run, page }) => {
    const user = await factories.users.trait('instructor').create({ name: 'Ada' })
    expectTypeOf(user).toEqualTypeOf<User>()
    expectTypeOf(await factories.sessions.create({ userId: user, ttlHours: 1 })).toEqualTypeOf<Session>()
    const { session, cookie } = await loginAs(user, { url: 'http://127.0.0.1:3000' })
    expectTypeOf(session).toEqualTypeOf<Record<string, unknown> | null>()
    expectTypeOf(cookie).toEqualTypeOf<LoginCookie>()
    expectTypeOf(scope).toEqualTypeOf<TestScope>()
    expectTypeOf(run).toEqualTypeOf<RunContext>()
    await page.goto('/')
    // @ts-expect-error: not a column of users
    await factories.users.create({ nickname: 'x' })
  })
}
