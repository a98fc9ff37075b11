import type { RunCleanupOptions } from '../cleanup/run-cleaner.js'
import { createRun } from './create-run.js'
import type { ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import { databaseOf } from '../db/database-input.js'
import type { Database } from '../db/database.js'
import type { CleanupMode } from '../config/define-config.js'
import type { CleanupReport, CloseReport } from '../run/cleanup-contract.js'
import type { RunnerKind } from '../run/environment.js'
import type { RunContext } from '../run/run-context.js'
import type { TestScope } from '../run/test-scope.js'
import { backgroundCleanupError, CleanupQueue, type BackgroundCleanupFailure } from './cleanup-queue.js'
import { cleanupOptionsOf, connectOptionsOf } from './config-options.js'
import { resolveDatabaseOption, type DatabaseOption } from './database-option.js'
import { formatCloseReport } from './report.js'
import { openIsolatedDatabase } from './database-isolation.js'
import { isolationProblem, type IsolatedStore } from './isolated-store.js'
import { openIsolatedSchema } from './schema-isolation.js'

export interface WorkerRunOptions {
  config: ResolvedConfig
  runner?: RunnerKind
  /** @default detected from the environment */
  worker?: number
  /** @default detected from the environment (`LEAKLESS_SHARD`) */
  shard?: number | null
  /** The factories the tests use: their tag columns are registered before the first insert. @default none */
  factories?: Record<string, unknown>
  /**
   * The user's database (a drizzle instance, or a function returning one, called here): used instead of a
   * connection from the configuration, and never closed by leakless. @default a connection from the configuration
   */
  db?: DatabaseOption
  /** Who passed `db`, for messages. @default 'leaklessTest()' */
  api?: string
}

/** A worker process's run context with its database: its own connection, or the user's drizzle instance. */
export interface WorkerRun {
  readonly run: RunContext
  readonly db: Database
  /** The run context's own schema or database (isolation 'schema' / 'database'); null when shared. */
  readonly isolation: { mode: 'schema' | 'database'; name: string } | null
  /** When tests' rows are deleted: the configuration's `cleanup` (isolation 'transaction' rolls back instead). */
  readonly cleanup: CleanupMode
  /**
   * Deletes a finished test's rows: at once with `'after-each'` (the report), or queued with
   * `'background'` (null; waits while the queue is full, bounded). A queued cleanup's error comes at close.
   */
  cleanupTest(scope: TestScope): Promise<CleanupReport | null>
  /**
   * Waits for the queued cleanups, then the worker cleanup and audit (see `run.close()`), then closes the
   * connection leakless opened (never the user's); `message` explains leaks.
   */
  close(options?: { color?: boolean }): Promise<WorkerCloseResult>
}

export interface WorkerCloseResult {
  report: CloseReport
  clean: boolean
  /** A readable account of the leaks; empty when clean. */
  message: string
  /** Queued cleanups that failed or did not finish (`cleanup: 'background'`), with their tests; they fail the file or worker. */
  background: BackgroundCleanupFailure[]
}

/** @internal Opens the worker's run for an adapter: the user's database or one from the configuration, options from the configuration. */
export async function openWorkerRun(options: WorkerRunOptions): Promise<WorkerRun> {
  const { config } = options
  const api = options.api ?? 'leaklessTest()'
  const own = options.db === undefined
  const isolated = await openIsolatedStore(config, options, api, own)
  const db =
    isolated?.db ??
    (own
      ? await connect(connectOptionsOf(config))
      : await databaseOf(await resolveDatabaseOption(options.db, api), api))
  // The user's pool stays open: run.close() releases what the run holds (its lease), closing is theirs.
  const closeDb = () => (isolated ? isolated.dispose() : own ? db.close() : Promise.resolve())
  const cleanup = cleanupOptionsOf(config)
  try {
    const run = await createRun({
      db,
      cleanup: isolatedCleanup(cleanup, isolated),
      ...(isolated ? { processNumber: isolated.processNumber } : {}),
      ...(isolated?.mode === 'schema' ? { searchSchema: isolated.name } : {}),
      ...(options.factories ? { factories: options.factories } : {}),
      ...(config.emailDomain ? { emailDomain: config.emailDomain } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.worker === undefined ? {} : { worker: options.worker }),
      ...(options.shard === undefined ? {} : { shard: options.shard }),
    })
    if (isolated && run.prefix !== isolated.prefix) {
      await run.close()
      throw new Error(
        `leakless: the run context's prefix ${run.prefix} is not its ${isolated.mode}'s (${isolated.prefix})`,
      )
    }
    const mode: CleanupMode = config.isolation === 'transaction' ? 'after-each' : (config.cleanup ?? 'after-each')
    const queue = mode === 'background' ? new CleanupQueue() : null
    return {
      run,
      db,
      isolation: isolated === null ? null : { mode: isolated.mode, name: isolated.name },
      cleanup: mode,
      async cleanupTest(scope) {
        if (queue === null) return scope.cleanup()
        await queue.add(scope, () => scope.cleanup())
        return null
      },
      async close({ color = false } = {}) {
        try {
          // The audit must see every test's cleanup done: the queue first (bounded; never rejects).
          const background = queue === null ? [] : await queue.drain()
          let report: CloseReport
          try {
            report = await run.close()
          } catch (error) {
            // The worker's cleanup usually fails for the same reason: the tests' failures say whose rows.
            if (background.length === 0) throw error
            throw backgroundCleanupError(
              background,
              'before the worker closed',
              `The worker's close failed too: ${(error as Error).message}`,
            )
          }
          const message = report.clean ? '' : formatCloseReport(report, { color })
          return { report, clean: report.clean, message, background }
        } finally {
          // Drops the schema or database after the run's lease is gone, then closes the connections.
          await closeDb()
        }
      },
    }
  } catch (error) {
    await closeDb().catch(() => {}) // a schema or database left is recorded: the sweep drops it
    throw error
  }
}

async function openIsolatedStore(
  config: ResolvedConfig,
  options: WorkerRunOptions,
  api: string,
  own: boolean,
): Promise<IsolatedStore | null> {
  const run = { runner: options.runner, worker: options.worker, shard: options.shard }
  const mode = config.isolation
  if (mode !== 'schema' && mode !== 'database') return null
  const problem = isolationProblem(mode, config, !own, api)
  if (problem !== null) throw problem
  return mode === 'schema' ? openIsolatedSchema(config, run) : openIsolatedDatabase(config, run)
}

// Cleanup and the audit look at the context's schema; in its own database, the guard accepts its name
// (created by leakless from a database the guard accepted, and named after it).
function isolatedCleanup(cleanup: RunCleanupOptions, isolated: IsolatedStore | null): RunCleanupOptions {
  if (isolated === null) return cleanup
  if (isolated.mode === 'schema') return { ...cleanup, schemas: [isolated.name] }
  const allow = cleanup.guard?.allowDatabases ?? []
  // No notice for it: the configured database's was printed, and this one is gone when the worker ends.
  const guard = { ...cleanup.guard, allowDatabases: [...allow, isolated.name], log: () => {} }
  return { ...cleanup, guard }
}
