/**
 * Isolation 'schema' and 'database' under the real Playwright, end to end: a project's `use: { isolation,
 * appServer }` gives each of 2 workers its own schema or database and its own app on its own port,
 * pointed at it, so the app's whole-table counts are the test's own; a second project of the same config
 * stays on the shared database (partitions by project). Nothing of the run is left afterwards.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, inject, test } from 'vitest'
import { chromiumLaunchOptions } from '../support/playwright-config.js'
import { countRunRows, createRunTag, removeProject, runStoresLeft, repoRoot, run, writeProject } from './harness.js'

const database = inject('database')
const FACTORIES = `${repoRoot}factories/index.js`
const fixturesDir = new URL('./fixtures/playwright/', import.meta.url)

const config = (
  isolation: string,
  appServer = `{ command: 'APP_PORT=$PORT node server.mjs', health: '/health' }`,
) => `import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'
import { startDatabase } from 'leakless/playwright'

await startDatabase()
const launchOptions = ${chromiumLaunchOptions()}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  tsconfig: './tsconfig.json',
  fullyParallel: true,
  workers: 2,
  reporter: [['list']],
  globalSetup: fileURLToPath(import.meta.resolve('leakless/playwright/global-setup')),
  globalTeardown: fileURLToPath(import.meta.resolve('leakless/playwright/global-teardown')),
  projects: [
    { name: 'own', testMatch: /own-.*\\.spec\\.ts/, use: { isolation: '${isolation}', appServer: ${appServer}, launchOptions } },
    { name: 'shared', testMatch: /shared\\.spec\\.ts/, use: { appServer: { command: 'APP_PORT=$PORT node server.mjs', health: '/health' }, launchOptions } },
  ],
})
`

const fixtures = `import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

export const test = leaklessTest({ factories })
`

// Each test makes n users and signs one in: the app, reading its worker's store, counts exactly n.
const ownSpec = (file: string) => `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

for (const n of [1, 2, 3]) {
  test(\`${file} counts \${n}\`, async ({ page, baseURL, factories, loginAs }, testInfo) => {
    const users = await factories.users.createList(n)
    await loginAs(users[0])
    await page.goto('/')
    await expect(page.locator('#who')).toHaveText(\`Signed in as \${users[0].email}\`)
    await page.waitForTimeout(100) // the other worker writes meanwhile
    await page.reload()
    await expect(page.locator('#count')).toHaveText(\`\${n} users\`)
    console.log(\`OWN worker=\${testInfo.workerIndex} url=\${baseURL} store=\${await page.locator('#store').textContent()}\`)
  })
}
`

const sharedSpec = `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

test('shared project reads the configured database', async ({ page, factories, loginAs }) => {
  const user = await factories.users.create()
  await loginAs(user)
  await page.goto('/')
  await expect(page.locator('#who')).toHaveText(\`Signed in as \${user.email}\`)
  console.log(\`SHARED store=\${await page.locator('#store').textContent()}\`)
})
`

function project(name: string, playwrightConfig: string): string {
  return writeProject(`playwright-isolation-${name}`, {
    'playwright.config.ts': playwrightConfig,
    'server.mjs': readFileSync(new URL('server.mjs', fixturesDir), 'utf8'),
    'tsconfig.json': readFileSync(new URL('tsconfig.json', fixturesDir), 'utf8'),
    'fixtures.ts': fixtures,
    'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${JSON.stringify(`${repoRoot}factories/migrations`)} })\n`,
    'tests/own-a.spec.ts': ownSpec('a'),
    'tests/own-b.spec.ts': ownSpec('b'),
    'tests/shared.spec.ts': sharedSpec,
  })
}

function playwright(dir: string, runTag: string) {
  return run(process.execPath, [`${repoRoot}node_modules/@playwright/test/cli.js`, 'test'], {
    cwd: dir,
    env: { DATABASE_URL: database.url, LEAKLESS_RUN: runTag },
    timeoutMs: 180_000,
  })
}

describe('isolation per Playwright project, with an app server per worker', () => {
  const base = new URL(database.url).pathname.slice(1)

  test.each(['schema', 'database'] as const)(
    "isolation '%s': 2 workers, each app on its own port reads its worker's own store; a shared project beside it",
    async (mode) => {
      const runTag = createRunTag()
      const dir = project(mode, config(mode))
      const result = await playwright(dir, runTag)
      expect(result.code, result.output).toBe(0)
      expect(result.output).toContain('7 passed')
      const seen = [...result.output.matchAll(/OWN worker=(\d+) url=(\S+) store=(\S+)\/(\S+)/g)].map((m) => ({
        worker: m[1]!,
        url: m[2]!,
        db: m[3]!,
        schema: m[4]!,
      }))
      expect(seen).toHaveLength(6)
      const workers = new Set(seen.map((s) => s.worker))
      expect(workers.size, result.output).toBe(2)
      // One app, one port and one store per worker, none shared.
      for (const key of ['url', mode === 'schema' ? 'schema' : 'db'] as const) {
        expect(new Set(seen.map((s) => `${s.worker} ${s[key]}`)).size).toBe(2)
        expect(new Set(seen.map((s) => s[key])).size).toBe(2)
      }
      for (const s of seen) {
        if (mode === 'schema')
          expect([s.db, s.schema]).toEqual([base, expect.stringMatching(new RegExp(`^${runTag}_\\d+$`))])
        else expect([s.db, s.schema]).toEqual([expect.stringMatching(new RegExp(`^${base}_${runTag}_\\d+$`)), 'public'])
      }
      expect(result.output).toContain(`SHARED store=${base}/public`)

      expect(await runStoresLeft(database.url, runTag)).toEqual({ schemas: [], databases: [], records: [] })
      expect(await countRunRows(database.url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
      removeProject(dir)
    },
  )

  test("isolation 'database' without an app server per worker is refused, naming the fix", async () => {
    const dir = project('refused', config('database', 'undefined'))
    const result = await playwright(dir, createRunTag())
    expect(result.code).toBe(1)
    expect(result.output).toContain('ISOLATION_UNSUPPORTED')
    expect(result.output).toContain(
      "isolation: 'database' (use: { isolation }) gives each Playwright worker a database of its own",
    )
    removeProject(dir)
  })
})
