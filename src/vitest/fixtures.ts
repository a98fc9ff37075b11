import { inject, test as vitestTest } from 'vitest'
import { loadConfig, type LeaklessConfig, type ResolvedConfig } from '../config/index.js'
import { checkDatabaseOption, type DatabaseOption } from '../lifecycle/index.js'
import type { Bindable, BoundMap, DrizzleDatabase, RunContext, TestScope } from '../run/index.js'
import { failedTestMeta, formatFailedTest } from './failure-report.js'
import { closeFileRun, fileRunOf, openFileRun, VITEST_API } from './file-run.js'
import { checkResolvedIsolation, isolationAtDefinition } from './isolation.js'
import { PROVIDED_CONFIG_KEY, withOverrides } from './provided-config.js'
import { openTestTransaction } from './test-transaction.js'

/** Factories by name, as `scope.bind()` takes them. */
export type FactoryMap = Record<string, Bindable<unknown>>

/** Options of {@link leaklessTest}. */
export interface LeaklessTestOptions<F extends FactoryMap, D extends DrizzleDatabase = DrizzleDatabase> {
  /** Factories every test gets bound to its own scope, as the `factories` fixture. @default {} */
  factories?: F
  /**
   * Your app's drizzle instance (postgres.js, node-postgres or PGlite), or a function (sync or async)
   * returning one, called once per test file: every fixture, cleanup and audit uses it, the `db` fixture
   * is it, and leakless never closes it.
   * Anything else is `DB_UNSUPPORTED` when the test is defined.
   * @default a connection leakless opens from `DATABASE_URL` / the config
   */
  db?: DatabaseOption<D>
  /** Options over `leakless.config.ts` for these tests (e.g. `{ onLeak: 'warn' }`). @default none */
  config?: LeaklessConfig
}

/** The fixtures {@link leaklessTest} adds to Vitest's test context. */
export interface LeaklessFixtures<F extends FactoryMap, D extends DrizzleDatabase = DrizzleDatabase> {
  /** The test file's run context (file scope): ids outside tests, `run.scope()`, `run.prefix`. */
  run: RunContext
  /**
   * The drizzle instance the file's fixtures use (file scope): yours when you passed `db`, else the one of
   * leakless's own connection (postgres.js when installed, else node-postgres). Raw SQL: ``await db.execute(sql`select …`)``.
   * With `isolation: 'transaction'` it is this test's transaction on that instance (test scope).
   */
  db: D
  /** This test's scope: ids, e-mails, slugs, seeded faker, the rows it created. Cleaned up after the test. */
  scope: TestScope
  /** `options.factories` bound to this test's scope. */
  factories: BoundMap<F>
}

/**
 * Vitest's `test` with leakless fixtures: `run` and `db` (one run context and database per test file:
 * your drizzle instance when you pass `db`, else a connection leakless opens), `scope` and `factories`
 * (per test). After each test, pass or fail, its rows are deleted
 * (`scope.cleanup()`); a cleanup error fails the test next to the test's own error, and a failed test
 * prints its seed (`LEAKLESS_SEED`) and the rows it created. When the file ends, its run context is
 * closed: rows written after their test's cleanup (late writes) or left in the database fail the file
 * with the leak report, or are only printed with `onLeak: 'warn'`. With `isolation: 'transaction'` (in
 * `leakless.config.ts` or `options.config`), each test runs in a transaction on that database, rolled back
 * after it instead of cleaned up: `db` and `factories` write inside it.
 *
 * @example
 * import { expect } from 'vitest'
 * import { leaklessTest } from 'leakless/vitest'
 * import { users } from './factories.js'
 *
 * const test = leaklessTest({ factories: { users } })
 *
 * test('signs up', async ({ factories }) => {
 *   const user = await factories.users.create()
 *   expect(user.email).toMatch(/@example\.test$/)
 * })
 */
export function leaklessTest<F extends FactoryMap = Record<never, never>, D extends DrizzleDatabase = DrizzleDatabase>(
  options: LeaklessTestOptions<F, D> = {},
) {
  const factories = options.factories ?? ({} as F)
  const { db } = options
  if (db !== undefined) checkDatabaseOption(db, VITEST_API)
  let config: Promise<ResolvedConfig> | undefined
  const loadOnce = () => (config ??= resolveConfig(options.config))

  const isolation = isolationAtDefinition(options.config)

  // File scope, not worker scope: Vitest drops errors of worker fixtures torn down after the run
  // ended (the last workers), so a leak found there would not fail the run.
  // eslint-disable-next-line no-empty-pattern -- Vitest reads a fixture's dependencies from this pattern
  const withRun = vitestTest.extend('run', { scope: 'file' }, async ({}, { onCleanup }) => {
    const resolved = await loadOnce()
    checkResolvedIsolation(resolved, isolation)
    const worker = await openFileRun(resolved, factories, process.env, db)
    onCleanup(() => closeFileRun(worker, resolved.onLeak ?? 'fail'))
    return worker.run
  })
  const shared = withRun
    .extend('db', { scope: 'file' }, ({ run }): D => run.db as D)
    .extend('scope', ({ run, task, onTestFinished, onTestFailed }) => {
      const worker = fileRunOf(run)
      const scope = run.scope(task.fullName)
      let cleaned = false
      // A hook rather than fixture teardown: Vitest reports a hook's error once, beside the test's own.
      // With cleanup: 'background' it only queues the cleanup; the file's close waits for it.
      onTestFinished(async () => {
        cleaned = (await worker.cleanupTest(scope)) !== null
      })
      onTestFailed(() => {
        Object.assign(task.meta, { leakless: failedTestMeta(scope, cleaned) })
        const removal = worker.cleanup === 'background' ? 'background' : 'cleanup'
        console.error(formatFailedTest(scope, cleaned, { file: task.file.name, test: task.fullTestName }, removal))
      })
      return scope
    })
    .extend('factories', ({ scope }): BoundMap<F> => scope.bind(factories))
  if (isolation !== 'transaction') return shared

  // isolation: 'transaction' — the scope owns the test's transaction; `db` (test scope here) is its handle.
  const inTransaction = withRun
    .extend('scope', async ({ run, task, onTestFailed }, { onCleanup }) => {
      const transaction = await openTestTransaction(run, run.db!)
      const scope = run.scope(task.fullName, { db: transaction.tx })
      onCleanup(async () => {
        await transaction.rollback()
        scope.rolledBack()
      })
      onTestFailed(() => {
        Object.assign(task.meta, { leakless: failedTestMeta(scope, true) })
        console.error(formatFailedTest(scope, true, { file: task.file.name, test: task.fullTestName }, 'rollback'))
      })
      return scope
    })
    .extend('db', ({ scope }): D => scope.db as D)
    .extend('factories', ({ scope }): BoundMap<F> => scope.bind(factories))
  // The same fixtures by name and type; only `db`'s scope differs (per test), which types cannot follow.
  return inTransaction as unknown as typeof shared
}

/** The global setup's configuration when it ran (see `provided-config.ts`), else `leakless.config.ts` read here. */
async function resolveConfig(overrides: LeaklessConfig | undefined): Promise<ResolvedConfig> {
  const provided = (inject as (key: string) => ResolvedConfig | undefined)(PROVIDED_CONFIG_KEY)
  if (provided !== undefined) return withOverrides(provided, overrides)
  return loadConfig(overrides ? { overrides } : {})
}
