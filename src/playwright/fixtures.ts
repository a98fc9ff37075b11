import { dirname } from 'node:path'
import {
  test as base,
  type FullConfig,
  type PlaywrightTestArgs,
  type PlaywrightTestOptions,
  type PlaywrightWorkerArgs,
  type PlaywrightWorkerOptions,
  type TestType,
} from '@playwright/test'
import type { Isolation, LeaklessConfig } from '../config/define-config.js'
import { loadConfig } from '../config/load-config.js'
import { LeakError } from '../errors.js'
import { checkDatabaseOption, type DatabaseOption } from '../lifecycle/database-option.js'
import { openWorkerRun, type WorkerRun } from '../lifecycle/worker-run.js'
import type { CleanupReport } from '../run/cleanup-contract.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import type { RunContext } from '../run/run-context.js'
import type { Bindable, BoundMap, TestScope } from '../run/test-scope.js'
import { startAppServer, type AppServer, type AppServerOptions } from './app-server.js'
import { checkPlaywrightIsolation } from './isolation.js'
import { isolatedUrl } from '../lifecycle/isolated-url.js'
import { createLoginAs, type LoginAs, type LoginOptions } from './login.js'
import { attachScopeReport, scopeName } from './test-report.js'
import {
  checkWorkerLogin,
  signInWorkerUser,
  workerUserMissing,
  type WorkerAuthFixtures,
  type WorkerLoginOptions,
  type WorkerUser,
} from './worker-auth.js'

/** Factories by the name tests use for them (`{ users, sessions }`). */
export type FactoryMap = Record<string, Bindable<unknown>>

/** What {@link leaklessTest} adds to Playwright's `test`. */
export interface LeaklessTestOptions<
  F extends FactoryMap = Record<never, never>,
  D extends DrizzleDatabase = DrizzleDatabase,
> {
  /** Factories the `factories` fixture binds to each test's scope. @default {} */
  factories?: F
  /**
   * Your app's drizzle instance (postgres.js, node-postgres or PGlite), or a function (sync or async)
   * returning one, called once per worker: every fixture, cleanup and audit uses it, the `db` fixture is
   * it, and leakless never closes it.
   * Anything else is `DB_UNSUPPORTED` when the test is defined.
   * @default a connection leakless opens from `DATABASE_URL` / the config
   */
  db?: DatabaseOption<D>
  /** Options that override `leakless.config.ts` (searched from the Playwright config's folder). @default {} */
  config?: LeaklessConfig
  /** Defaults of `loginAs`: sessions factory, cookie name, URL…, or the app's own sign-in (`cookies`). @default { factory: 'sessions', cookie: 'session' } */
  login?: LoginOptions
  /**
   * Your app, started once per worker on a free port (`$PORT`), as the worker's `baseURL`; a project's
   * `use: { appServer }` overrides it. @default none: use Playwright's `webServer` and `baseURL`
   */
  appServer?: AppServerOptions
  /**
   * One user per worker, signed in once: every test of the worker starts with its storage state, the
   * `workerUser` fixture is it; a project's `use: { workerLogin }` overrides it. @default none
   */
  workerLogin?: WorkerLoginOptions | false
}

/** Test-scoped fixtures of {@link leaklessTest}. */
export interface LeaklessTestFixtures<
  F extends FactoryMap = Record<never, never>,
  D extends DrizzleDatabase = DrizzleDatabase,
> {
  /** This test's ids, e-mails, slugs, seeded faker and ledger; cleaned up after the test. */
  scope: TestScope
  /** The factories of `leaklessTest({ factories })`, bound to this test's scope. */
  factories: BoundMap<F>
  /**
   * The drizzle instance the worker's fixtures use: yours when you passed `db`, else the one of leakless's
   * own connection, on the configured driver. Raw SQL: ``await db.execute(sql`select …`)``.
   */
  db: D
  /** Signs a user in: a sessions row and its cookie, or the cookies of `login.cookies`, on the test's browser context. */
  loginAs: LoginAs
}

/** Worker-scoped fixtures of {@link leaklessTest}. */
export interface LeaklessWorkerFixtures {
  /** The worker's run context: closed (cleanup and leak audit) when the worker ends. */
  run: RunContext
  /** @internal the worker's run with its connection */
  _leaklessWorker: WorkerRun
  /** The app this worker starts (an option: `use: { appServer }` in a project), or none. */
  appServer: AppServerOptions | undefined
  /** @internal the worker's started app */
  _leaklessApp: AppServer | null
  /**
   * The isolation mode of this project's workers (an option: `use: { isolation }`), over
   * `leakless.config.ts`; `'schema'` and `'database'` need `appServer`. @default the configuration's
   */
  isolation: Isolation | undefined
}

/**
 * The options a Playwright project may set in `use` for leakless: `defineConfig<{}, LeaklessWorkerOptions>({ … })`
 * types them.
 */
export type LeaklessWorkerOptions = Pick<LeaklessWorkerFixtures, 'appServer' | 'isolation'> &
  Pick<WorkerAuthFixtures, 'workerLogin'>

/** Playwright's `test` with leakless's fixtures. */
export type LeaklessTest<
  F extends FactoryMap = Record<never, never>,
  D extends DrizzleDatabase = DrizzleDatabase,
> = TestType<
  PlaywrightTestArgs & PlaywrightTestOptions & LeaklessTestFixtures<F, D>,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions & LeaklessWorkerFixtures & WorkerAuthFixtures<F>
>

/**
 * Playwright's `test` extended with leakless: `factories`, `scope`, `db` and `loginAs` per test, `run`
 * per worker. The worker's database is your drizzle instance when you pass `db`, else a connection
 * leakless opens from `DATABASE_URL` or the config. After every test its rows are deleted (even when it failed; a cleanup error is reported
 * next to the test's own) and listed in the `leakless-created-rows` attachment; a failed test also
 * gets a `leakless-seed` attachment that replays its data. When a worker ends, its run is closed and
 * audited: leaks fail the run (`onLeak: 'fail'`, the default) or are printed (`'warn'`).
 *
 * @example
 * import { expect } from '@playwright/test'
 * import { leaklessTest } from 'leakless/playwright'
 * import { users, sessions } from './factories.js'
 *
 * const test = leaklessTest({ factories: { users, sessions } })
 *
 * test('shows the signed-in user', async ({ page, factories, loginAs }) => {
 *   const user = await factories.users.create()
 *   await loginAs(user)
 *   await page.goto('/')
 *   await expect(page.getByText(user.email)).toBeVisible()
 * })
 */
export function leaklessTest<F extends FactoryMap = Record<never, never>, D extends DrizzleDatabase = DrizzleDatabase>(
  options: LeaklessTestOptions<F, D> = {},
): LeaklessTest<F, D> {
  const factories: FactoryMap = options.factories ?? {}
  const { db } = options
  if (db !== undefined) checkDatabaseOption(db, API)
  // 'schema' and 'database' need an app server, which a project's `use` may still give: checked per worker.
  if (options.config !== undefined) checkPlaywrightIsolation(options.config, 'leaklessTest({ config })', 'per worker')
  checkWorkerLogin(options.workerLogin, 'leaklessTest({ workerLogin })')
  return base.extend<LeaklessTestFixtures<F, D>, LeaklessWorkerFixtures & WorkerAuthFixtures<F>>({
    _leaklessWorker: [
      async ({ isolation, appServer }, use, workerInfo) => {
        const overrides = { ...options.config, ...(isolation === undefined ? {} : { isolation }) }
        const config = await loadConfig({ cwd: configDir(workerInfo.config), overrides })
        const where = isolation === undefined ? (config.file ?? 'leakless.config.ts') : 'use: { isolation }'
        checkPlaywrightIsolation(config, where, appServer)
        const shard = workerInfo.config.shard?.current
        const worker = await openWorkerRun({
          config,
          runner: 'playwright',
          factories,
          worker: workerInfo.workerIndex,
          ...(shard === undefined ? {} : { shard }),
          ...(db === undefined ? {} : { db, api: API }),
        })
        await use(worker)
        const closed = await worker.close()
        if (closed.clean) return
        if (config.onLeak === 'warn') {
          console.warn(closed.message)
          return
        }
        const error = new LeakError(
          'LEAKS_FOUND',
          `${closed.message}\nleakless: worker ${workerInfo.workerIndex} left rows behind (listed above; they have been deleted). Set onLeak: 'warn' in leakless.config.ts to report without failing.`,
          { details: { prefix: worker.run.prefix } },
        )
        // The report names the tests; a stack into the fixture's teardown would not help.
        error.stack = `${error.name}: ${error.message}`
        throw error
      },
      { scope: 'worker', box: true },
    ],
    run: [async ({ _leaklessWorker }, use) => use(_leaklessWorker.run), { scope: 'worker' }],
    appServer: [options.appServer, { scope: 'worker', option: true }],
    isolation: [options.config?.isolation, { scope: 'worker', option: true }],
    // After the worker's run is open, stopped before it closes: the close audits what the app wrote.
    _leaklessApp: [
      async ({ appServer, _leaklessWorker }, use, workerInfo) => {
        if (appServer === undefined) return use(null)
        // The app sees what the worker sees: its own database, or its schema first on search_path.
        const url = process.env.DATABASE_URL || process.env.LEAKLESS_DATABASE_URL
        const env = url ? { ...process.env, DATABASE_URL: isolatedUrl(url, _leaklessWorker.isolation) } : process.env
        const app = await startAppServer(appServer, { cwd: configDir(workerInfo.config), env })
        try {
          await use(app)
        } finally {
          await app.stop()
        }
      },
      { scope: 'worker', box: true },
    ],
    baseURL: async ({ baseURL, _leaklessApp }, use) => use(_leaklessApp?.url ?? baseURL),
    workerLogin: [options.workerLogin, { scope: 'worker', option: true }],
    _leaklessWorkerUser: [
      // Not on `browser`: depending on it would launch a browser in every worker, also for tests that use none.
      async (
        { workerLogin, _leaklessWorker, _leaklessApp, playwright, browserName, launchOptions, headless },
        use,
        workerInfo,
      ) => {
        const where = workerInfo.project.name ? `use of project "${workerInfo.project.name}"` : 'use: { workerLogin }'
        const login = checkWorkerLogin(workerLogin, where)
        if (login === null) return use(null)
        const browser = await playwright[browserName].launch({ ...launchOptions, headless })
        let signedIn: Awaited<ReturnType<typeof signInWorkerUser>>
        try {
          // baseURL is a test-scoped option: the worker's is its app's, else the project's.
          signedIn = await signInWorkerUser({
            options: login,
            run: _leaklessWorker.run,
            db: _leaklessWorker.db.drizzle,
            factories,
            login: options.login ?? {},
            browser,
            baseURL: _leaklessApp?.url ?? workerInfo.project.use.baseURL,
            outputDir: workerInfo.project.outputDir,
            workerIndex: workerInfo.workerIndex,
          })
        } finally {
          await browser.close()
        }
        await use(signedIn.value)
        await signedIn.dispose()
      },
      { scope: 'worker', box: true },
    ],
    workerUser: [
      async ({ _leaklessWorkerUser }, use) => use((_leaklessWorkerUser ?? workerUserMissing()) as WorkerUser<never>),
      { scope: 'worker' },
    ],
    storageState: [
      async ({ storageState, _leaklessWorkerUser }, use) => use(_leaklessWorkerUser?.storageState ?? storageState),
      { scope: 'test', box: true },
    ],
    db: async ({ _leaklessWorker }, use) => use(_leaklessWorker.db.drizzle as D),
    scope: async ({ _leaklessWorker }, use, testInfo) => {
      const scope = _leaklessWorker.run.scope(scopeName(testInfo))
      await use(scope)
      let cleanup: CleanupReport | null = null
      let cleanupError: unknown
      try {
        cleanup = await scope.cleanup()
      } catch (error) {
        cleanupError = error
      }
      await attachScopeReport(testInfo, scope, cleanup, cleanupError)
      // Playwright reports a fixture's teardown error next to the test's own error, never instead of it.
      if (cleanupError !== undefined) throw cleanupError
    },
    factories: async ({ scope }, use) => use(scope.bind(factories) as BoundMap<F>),
    loginAs: async ({ scope, factories: bound, context, baseURL, db }, use) =>
      use(
        createLoginAs({
          scope,
          context,
          db,
          baseURL,
          factories: bound as unknown as FactoryMap,
          defaults: options.login ?? {},
        }),
      ),
  })
}

const API = 'leaklessTest() of leakless/playwright'

function configDir(config: FullConfig): string {
  return config.configFile ? dirname(config.configFile) : process.cwd()
}
