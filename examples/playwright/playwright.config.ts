import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, defineConfig } from '@playwright/test'
import { startDatabase, type LeaklessWorkerOptions } from 'leakless/playwright'

/**
 * The booking app's end-to-end tests: `npx playwright test -c examples/playwright/playwright.config.ts`
 * from the repository's root (after `npm run build`: `leakless/playwright` is the built package).
 * Database: DATABASE_URL, else the embedded PostgreSQL. App: `npm run app` on PORT, else a free port.
 */
const here = fileURLToPath(new URL('.', import.meta.url))

// Playwright starts webServer before globalSetup: the app needs the database's URL while the config loads.
const databaseUrl = await startDatabase({ cwd: here })
// The main process chooses; its workers load this file too and find the port in the environment it hands them.
if (!process.env.PORT || process.env.PORT === '0') process.env.PORT = String(await freePort())
const baseURL = `http://127.0.0.1:${process.env.PORT}`
process.env.LEAKLESS_CHROMIUM ||= findChromium()

export default defineConfig<object, LeaklessWorkerOptions>({
  testDir: './tests',
  outputDir: './test-results',
  // One tsconfig (without the repository's paths) for every file, the reference factories too: all of
  // them import leakless from the built package, as an installed one.
  tsconfig: './tsconfig.json',
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  globalSetup: fileURLToPath(import.meta.resolve('leakless/playwright/global-setup')),
  globalTeardown: fileURLToPath(import.meta.resolve('leakless/playwright/global-teardown')),
  webServer: {
    command: 'npm run app --silent',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    url: `${baseURL}/health`,
    env: { DATABASE_URL: databaseUrl, PORT: process.env.PORT },
    reuseExistingServer: false,
    timeout: 60_000,
  },
  // Partitions: the `onboarding` tests need a database that starts empty, the rest share one.
  projects: [
    { name: 'shared', testIgnore: /onboarding\.spec\.ts/ },
    {
      name: 'onboarding',
      testMatch: /onboarding\.spec\.ts/,
      use: {
        // A database per worker, cloned from a template migrated once; the app started per worker with
        // DATABASE_URL pointing at it, on a port of its own (baseURL).
        isolation: 'database',
        appServer: {
          command: 'npm run app --silent',
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
          health: '/health',
        },
      },
    },
  ],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.LEAKLESS_CHROMIUM,
      // Debian's Chromium in a container: no sandbox, no GPU, nothing that phones home.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
})

/** Playwright's own Chromium when it is installed (`npx playwright install chromium`), else the system's. */
function findChromium(): string {
  try {
    const own = chromium.executablePath()
    if (existsSync(own)) return own
  } catch {
    // No browser registry: the system's.
  }
  return '/usr/bin/chromium'
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
