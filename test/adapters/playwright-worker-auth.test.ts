/**
 * A signed-in user per Playwright worker (`workerLogin` / `workerUser`): made through the factories on the
 * worker's scope 0, signed in once, its storage state every test's; gone (with its session) when the run
 * ends, and the run's audit clean.
 */
import { existsSync, readFileSync } from 'node:fs'
import postgres from 'postgres'
import { describe, expect, inject, test } from 'vitest'
import { decodeId } from '../../src/index.js'
import { sectionFiles } from '../support/doc-section.js'
import { CHROMIUM_PATH, chromiumLaunchOptions } from '../support/playwright-config.js'
import { countRunRows, createRunTag, freePort, removeProject, repoRoot, run, writeProject } from './harness.js'

const database = inject('database')
const FACTORIES = `${repoRoot}factories/index.js`
const NO_ROWS = { users: 0, sessions: 0, bookings: 0, activity: 0 }

const config = (use: string) => `import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  tsconfig: './tsconfig.json',
  fullyParallel: true,
  workers: 2,
  reporter: [['list']],
  globalSetup: fileURLToPath(import.meta.resolve('leakless/playwright/global-setup')),
  globalTeardown: fileURLToPath(import.meta.resolve('leakless/playwright/global-teardown')),
  use: {
    appServer: { command: 'APP_PORT=$PORT node server.mjs', health: '/health' },
    ${use}
    launchOptions: ${chromiumLaunchOptions('    ')},
  },
})
`

// Every test prints what it saw: the worker's user, the page's sign-in, the session cookie of its context.
const spec = (file: string) => `import { existsSync } from 'node:fs'
import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

for (const n of [1, 2, 3]) {
  test(\`${file} \${n}\`, async ({ page, context, workerUser }, testInfo) => {
    await page.goto('/')
    await expect(page.locator('#who')).toHaveText(\`Signed in as \${workerUser.user.email}\`)
    const cookie = (await context.cookies()).find((c) => c.name === 'session')
    expect(cookie?.value).toBe(workerUser.login.cookie.value)
    expect(existsSync(workerUser.storageState)).toBe(true)
    console.log(\`AUTH worker=\${testInfo.workerIndex} user=\${workerUser.user.id} role=\${workerUser.user.role} session=\${workerUser.login.session?.id} state=\${workerUser.storageState}\`)
  })
}
`

function project(name: string, files: Record<string, string>): string {
  return writeProject(`playwright-auth-${name}`, {
    'server.mjs': readFileSync(new URL('./fixtures/playwright/server.mjs', import.meta.url), 'utf8'),
    'tsconfig.json': readFileSync(new URL('./fixtures/playwright/tsconfig.json', import.meta.url), 'utf8'),
    'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${JSON.stringify(`${repoRoot}factories/migrations`)} })\n`,
    ...files,
  })
}

function playwright(dir: string, runTag: string, env: Record<string, string> = {}) {
  return run(process.execPath, [`${repoRoot}node_modules/@playwright/test/cli.js`, 'test'], {
    cwd: dir,
    env: { DATABASE_URL: database.url, LEAKLESS_RUN: runTag, ...env },
    timeoutMs: 120_000,
  })
}

async function remaining(userIds: string[], sessionIds: string[]) {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<{ users: number; sessions: number }>>`
      select (select count(*)::int from users where id = any(${userIds})) as users,
             (select count(*)::int from sessions where id = any(${sessionIds}) or user_id = any(${userIds})) as sessions`
    return row!
  } finally {
    await sql.end()
  }
}

describe('workerLogin: a signed-in user per Playwright worker', () => {
  test("2 workers: each test of a worker is signed in as its worker's user, the workers' users differ, all gone after the run", async () => {
    const runTag = createRunTag()
    const dir = project('ok', {
      'playwright.config.ts': config(`workerLogin: { traits: ['instructor'] },`),
      'fixtures.ts': `import { leaklessTest } from 'leakless/playwright'\nimport { factories } from '${FACTORIES}'\n\nexport const test = leaklessTest({ factories })\n`,
      'tests/a.spec.ts': spec('a'),
      'tests/b.spec.ts': spec('b'),
    })
    const result = await playwright(dir, runTag)
    expect(result.code, result.output).toBe(0)
    expect(result.output).toContain('6 passed')
    const seen = [...result.output.matchAll(/AUTH worker=(\d+) user=(\S+) role=(\S+) session=(\S+) state=(\S+)/g)].map(
      (m) => ({ worker: m[1]!, user: m[2]!, role: m[3]!, session: m[4]!, state: m[5]! }),
    )
    expect(seen).toHaveLength(6)
    const byWorker = new Map<string, typeof seen>()
    for (const s of seen) byWorker.set(s.worker, [...(byWorker.get(s.worker) ?? []), s])
    expect(byWorker.size, result.output).toBe(2)
    // One user, one session, one storage state per worker, whatever test or file.
    for (const tests of byWorker.values()) {
      for (const key of ['user', 'session', 'state'] as const) expect(new Set(tests.map((t) => t[key])).size).toBe(1)
    }
    const users = [...new Set(seen.map((s) => s.user))]
    const sessions = [...new Set(seen.map((s) => s.session))]
    expect(users).toHaveLength(2)
    expect(sessions).toHaveLength(2)
    const states = [...new Set(seen.map((s) => s.state))]
    expect(states).toHaveLength(2)
    for (const state of states) expect(state.startsWith(`${dir}/test-results/.auth/worker-`)).toBe(true)
    // The files held live session tokens: removed with the worker.
    for (const state of states) expect(existsSync(state)).toBe(false)
    expect(seen.every((s) => s.role === 'instructor')).toBe(true)
    // Made on the worker's scope 0, not in a test: no test's cleanup deleted them.
    for (const id of [...users, ...sessions]) expect(decodeId(id)).toMatchObject({ runTag, scope: 0 })

    expect(await remaining(users, sessions)).toEqual({ users: 0, sessions: 0 })
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    const audit = await run(process.execPath, [`${repoRoot}dist/cli/index.js`, 'audit', '--run', runTag], {
      cwd: repoRoot,
      env: { DATABASE_URL: database.url },
    })
    expect(audit.code, audit.output).toBe(0)
    expect(audit.output).toContain('clean')
    removeProject(dir)
  })

  for (const isolation of ['schema', 'database']) {
    test(`isolation '${isolation}': each worker's user lives in the worker's own store, which its app reads`, async () => {
      const runTag = createRunTag()
      // Only the worker's user in the store the app reads: its count is 1, whatever the other worker does.
      const isolatedSpec = `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

for (const n of [1, 2]) {
  test(\`own \${n}\`, async ({ page, workerUser }, testInfo) => {
    await page.goto('/')
    await expect(page.locator('#who')).toHaveText(\`Signed in as \${workerUser.user.email}\`)
    await expect(page.locator('#count')).toHaveText('1 users')
    console.log(\`STORE worker=\${testInfo.workerIndex} user=\${workerUser.user.id} store=\${await page.locator('#store').textContent()}\`)
  })
}
`
      const dir = project(isolation, {
        'playwright.config.ts': config(`isolation: '${isolation}', workerLogin: {},`),
        'fixtures.ts': `import { leaklessTest } from 'leakless/playwright'\nimport { factories } from '${FACTORIES}'\n\nexport const test = leaklessTest({ factories })\n`,
        'tests/a.spec.ts': isolatedSpec,
        'tests/b.spec.ts': isolatedSpec,
      })
      const result = await playwright(dir, runTag)
      expect(result.code, result.output).toBe(0)
      expect(result.output).toContain('4 passed')
      const seen = [...result.output.matchAll(/STORE worker=(\d+) user=(\S+) store=(\S+)/g)].map((m) => m.slice(1))
      expect(seen).toHaveLength(4)
      // Two workers, each with one user and one store of its own.
      const perWorker = new Map(seen.map(([worker, user, store]) => [worker, `${user} ${store}`]))
      expect(perWorker.size, result.output).toBe(2)
      expect(seen.every(([worker, user, store]) => perWorker.get(worker) === `${user} ${store}`)).toBe(true)
      expect(new Set(seen.map((s) => s[2])).size).toBe(2)
      expect(new Set(seen.map((s) => s[1])).size).toBe(2)
      expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
      removeProject(dir)
    })
  }

  test('leaklessTest({ workerLogin: { create } }); test.use({ workerLogin: false }) leaves a file signed out; a bad factory is CONFIG_INVALID', async () => {
    const runTag = createRunTag()
    const fixtures = `import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

export const test = leaklessTest({
  factories,
  workerLogin: { create: ({ factories: f }) => f.users.create({ role: 'admin', name: 'Worker Admin' }) },
})
`
    const signedOut = `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

test.use({ workerLogin: false })

test('signed out', async ({ page, context }) => {
  await page.goto('/')
  await expect(page.locator('#who')).toHaveText('Signed out')
  expect(await context.cookies()).toEqual([])
})
`
    const dir = project('create', {
      'playwright.config.ts': config(''),
      'fixtures.ts': fixtures,
      'tests/a.spec.ts': spec('a'),
      'tests/out.spec.ts': signedOut,
    })
    const result = await playwright(dir, runTag)
    expect(result.code, result.output).toBe(0)
    expect(result.output).toContain('4 passed')
    const roles = [...result.output.matchAll(/AUTH worker=\d+ user=\S+ role=(\S+)/g)].map((m) => m[1])
    expect(roles).toEqual(['admin', 'admin', 'admin'])
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)

    const bad = project('bad', {
      'playwright.config.ts': config(`workerLogin: { factory: 'accounts' },`),
      'fixtures.ts': `import { leaklessTest } from 'leakless/playwright'\nimport { factories } from '${FACTORIES}'\n\nexport const test = leaklessTest({ factories })\n`,
      'tests/a.spec.ts': spec('a'),
    })
    const failed = await playwright(bad, createRunTag())
    expect(failed.code).toBe(1)
    expect(failed.output).toContain('CONFIG_INVALID')
    expect(failed.output).toContain(
      'workerLogin makes the worker\'s user with the factory "accounts", which leaklessTest({ factories }) does not have (it has: users, sessions, bookings)',
    )
    removeProject(bad)
  })

  test("docs/playwright.md's files, with webServer and use.baseURL: signed in as the worker's admin, a group signed out", async () => {
    const docs = sectionFiles('docs/playwright.md', '## A signed-in user per worker')
    expect(Object.keys(docs)).toEqual(['e2e/fixtures.ts', 'e2e/account.spec.ts'])
    const fixture = (name: string) => readFileSync(new URL(`./fixtures/playwright/${name}`, import.meta.url), 'utf8')
    const dir = project('docs', {
      ...docs,
      'factories/index.ts': `export * from ${JSON.stringify(`${repoRoot}factories/index.ts`)}\n`,
      'playwright.config.ts': fixture('playwright.config.ts').replace("testDir: './tests'", "testDir: './e2e'"),
      'server.mjs': fixture('server.mjs'),
    })
    const runTag = createRunTag()
    const result = await playwright(dir, runTag, { APP_PORT: String(await freePort()) })
    expect(result.code, result.output).toBe(0)
    expect(result.output).toContain('2 passed')
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)
  })

  test('without workerLogin no browser is launched for tests that use none (a broken browser path does not matter)', async () => {
    const runTag = createRunTag()
    const broken = config('').replace(CHROMIUM_PATH, "'/nonexistent/chromium'")
    const dir = project('no-browser', {
      'playwright.config.ts': broken,
      'fixtures.ts': `import { leaklessTest } from 'leakless/playwright'\nimport { factories } from '${FACTORIES}'\n\nexport const test = leaklessTest({ factories })\n`,
      'tests/data.spec.ts': `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

for (const n of [1, 2]) {
  test(\`data \${n}\`, async ({ factories }) => {
    const user = await factories.users.create()
    expect(user.id.startsWith(process.env.LEAKLESS_RUN)).toBe(true)
  })
}
`,
    })
    const result = await playwright(dir, runTag)
    expect(result.output).not.toContain('/nonexistent/chromium')
    expect(result.output).toContain('2 passed')
    expect(result.code).toBe(0)
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)
  })
})
