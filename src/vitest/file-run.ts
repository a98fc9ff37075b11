import type { OnLeak, ResolvedConfig } from '../config/index.js'
import { ConfigError, InputError, LeakError } from '../errors.js'
import { backgroundCleanupError } from '../lifecycle/cleanup-queue.js'
import { openWorkerRun, type DatabaseOption, type WorkerRun } from '../lifecycle/index.js'
import type { RunContext } from '../run/index.js'

/** Who takes the `db` option, for messages. */
export const VITEST_API = 'leaklessTest() of leakless/vitest'

// The file's worker run by its run context: the `scope` fixture, given `run`, queues cleanups on it.
const fileRuns = new WeakMap<RunContext, WorkerRun>()

/** The worker run a file's run context belongs to (opened by {@link openFileRun}). */
export function fileRunOf(run: RunContext): WorkerRun {
  const worker = fileRuns.get(run)
  if (worker === undefined) {
    throw new InputError(
      'OPTION_INVALID',
      'leakless/vitest: the `run` fixture is not the run context leakless opened for this test file (was it overridden with test.extend?). Leave `run` to leaklessTest(); create other run contexts with createRun().',
    )
  }
  return worker
}

/** Opens the run context of one test file: its own connection (or the user's `db`), lease and process field. */
export async function openFileRun(
  config: ResolvedConfig,
  factories: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
  db?: DatabaseOption,
): Promise<WorkerRun> {
  const worker = await openWorker(config, factories, env, db)
  fileRuns.set(worker.run, worker)
  return worker
}

function openWorker(
  config: ResolvedConfig,
  factories: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  db: DatabaseOption | undefined,
): Promise<WorkerRun> {
  if (db !== undefined) return openWorkerRun({ config, runner: 'vitest', factories, db, api: VITEST_API })
  // Started by a worker, the embedded server would stop when that worker's file ends, under the others.
  if (!config.databaseUrl && !env.DATABASE_URL && !env.LEAKLESS_DATABASE_URL && config.embedded !== false) {
    return Promise.reject(
      new ConfigError(
        'GLOBAL_SETUP_MISSING',
        "leakless/vitest has no database URL: DATABASE_URL is not set, and the embedded PostgreSQL is started by leakless's global setup, which did not run. Add globalSetup: ['leakless/vitest/global-setup'] to the test options in vitest.config.ts, or set DATABASE_URL.",
      ),
    )
  }
  return openWorkerRun({ config, runner: 'vitest', factories })
}

/**
 * Closes a file's run context: the queued cleanups (`cleanup: 'background'`), late writes, the worker
 * cleanup and the audit. Leaks fail the file (`onLeak: 'fail'`) or are printed (`'warn'`); a failed
 * background cleanup, or an error of the close itself, always fails it.
 */
export async function closeFileRun(worker: WorkerRun, onLeak: OnLeak): Promise<void> {
  const result = await worker.close()
  if (result.background.length > 0) {
    throw backgroundCleanupError(result.background, 'in this test file', result.clean ? '' : result.message)
  }
  if (result.clean) return
  if (onLeak === 'warn') {
    console.warn(`${result.message}\nleakless: reported only (onLeak: 'warn').`)
    return
  }
  const error = new LeakError(
    'LEAKS_FOUND',
    `leaks found when this test file ended and its run context closed:\n${result.message}\nSet onLeak: 'warn' in leakless.config.ts to report leaks without failing.`,
    {
      details: {
        prefix: worker.run.prefix,
        leftBehind: { ...result.report.leftBehind.tables },
        remaining: { ...result.report.audit.tables },
      },
    },
  )
  // The stack would point into leakless, not at a line of the test file: the report says where.
  error.stack = `${error.name}: ${error.message}`
  throw error
}
