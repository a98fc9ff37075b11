/**
 * An app server per Playwright worker (`use: { appServer }`): each worker starts the app on a port of its
 * own, its tests get it as `baseURL`, and it is stopped when the worker ends; an app that fails to start
 * fails the worker with its output.
 */
import { readFileSync } from 'node:fs'
import { connect as connectSocket } from 'node:net'
import { describe, expect, inject, test } from 'vitest'
import { chromiumLaunchOptions } from '../support/playwright-config.js'
import { countRunRows, createRunTag, removeProject, repoRoot, run, writeProject } from './harness.js'

const database = inject('database')
const FACTORIES = `${repoRoot}factories/index.js`
const serverFile = readFileSync(new URL('./fixtures/playwright/server.mjs', import.meta.url), 'utf8')

const config = (appServer: string) => `import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'
import { startDatabase } from 'leakless/playwright'

await startDatabase()

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
    appServer: ${appServer},
    launchOptions: ${chromiumLaunchOptions('    ')},
  },
})
`

// One test type for every file (as an app's fixtures module): Playwright keeps a worker across files
// only when their fixtures are the same.
const fixtures = `import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

export const test = leaklessTest({ factories })
`

const spec = (file: string) => `import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

for (const n of [1, 2]) {
  test(\`${file} signs in \${n}\`, async ({ page, baseURL, factories, loginAs }, testInfo) => {
    const user = await factories.users.create()
    await loginAs(user)
    await page.goto('/')
    await expect(page.locator('#who')).toHaveText(\`Signed in as \${user.email}\`)
    console.log(\`APP worker=\${testInfo.workerIndex} url=\${baseURL}\`)
  })
}
`

function project(name: string, appServer: string, specs: string[]): string {
  return writeProject(`playwright-app-${name}`, {
    'playwright.config.ts': config(appServer),
    'server.mjs': serverFile,
    'tsconfig.json': readFileSync(new URL('./fixtures/playwright/tsconfig.json', import.meta.url), 'utf8'),
    'fixtures.ts': fixtures,
    'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${JSON.stringify(`${repoRoot}factories/migrations`)} })\n`,
    ...Object.fromEntries(specs.map((file) => [`tests/${file}.spec.ts`, spec(file)])),
  })
}

function playwright(dir: string, runTag: string) {
  return run(process.execPath, [`${repoRoot}node_modules/@playwright/test/cli.js`, 'test'], {
    cwd: dir,
    env: { DATABASE_URL: database.url, LEAKLESS_RUN: runTag },
    timeoutMs: 120_000,
  })
}

/** Whether something accepts connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectSocket(Number(new URL(url).port), '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

describe('appServer: an app per Playwright worker', () => {
  test('2 workers, each with its own app on its own port as baseURL; stopped at the end; no row left', async () => {
    const runTag = createRunTag()
    const dir = project('ok', `{ command: 'APP_PORT=$PORT node server.mjs', health: '/health' }`, ['a', 'b'])
    const result = await playwright(dir, runTag)
    expect(result.code, result.output).toBe(0)
    expect(result.output).toContain('4 passed')
    const seen = [...result.output.matchAll(/APP worker=(\d+) url=(\S+)/g)].map((m) => ({ worker: m[1]!, url: m[2]! }))
    expect(seen).toHaveLength(4)
    const urlsByWorker = new Map<string, Set<string>>()
    for (const { worker, url } of seen) urlsByWorker.set(worker, (urlsByWorker.get(worker) ?? new Set()).add(url))
    expect(urlsByWorker.size, result.output).toBe(2)
    // One app per worker, none shared: as many ports as workers.
    for (const urls of urlsByWorker.values()) expect(urls.size).toBe(1)
    const urls = [...urlsByWorker.values()].flatMap((set) => [...set])
    expect(new Set(urls).size).toBe(2)
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    for (const url of urls) expect(await listening(url)).toBe(false)
    expect(await countRunRows(database.url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
    removeProject(dir)
  })

  test('an app that exits before it is ready fails the worker with APP_SERVER_FAILED and its output', async () => {
    const dir = project('fails', `{ command: 'echo "cannot start on $PORT"; exit 3', health: '/health' }`, ['a'])
    const result = await playwright(dir, createRunTag())
    expect(result.code).toBe(1)
    expect(result.output).toContain('APP_SERVER_FAILED')
    expect(result.output).toMatch(/exited \(code 3\) before http:\/\/127\.0\.0\.1:\d+\/health answered/)
    expect(result.output).toMatch(/cannot start on \d+/)
    removeProject(dir)
  })
})
