import { createRun } from '../cleanup/create-run.js'
import type { ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import type { Database } from '../db/database.js'
import type { CloseReport } from '../run/cleanup-contract.js'
import type { RunnerKind } from '../run/environment.js'
import type { RunContext } from '../run/run-context.js'
import { cleanupOptionsOf, connectOptionsOf } from './config-options.js'
import { formatCloseReport } from './report.js'

export interface WorkerRunOptions {
  config: ResolvedConfig
  runner?: RunnerKind
  /** @default detected from the environment */
  worker?: number
  /** @default detected from the environment (`LEAKLESS_SHARD`) */
  shard?: number | null
  /** The factories the tests use: their tag columns are registered before the first insert. @default none */
  factories?: Record<string, unknown>
}

/** A worker process's run context with its own database connection. */
export interface WorkerRun {
  readonly run: RunContext
  readonly db: Database
  /** Worker cleanup and audit (see `run.close()`), then closes the connection; `message` explains leaks. */
  close(options?: { color?: boolean }): Promise<WorkerCloseResult>
}

export interface WorkerCloseResult {
  report: CloseReport
  clean: boolean
  /** A readable account of the leaks; empty when clean. */
  message: string
}

/** @internal Opens the worker's run for an adapter: the database and options from the configuration. */
export async function openWorkerRun(options: WorkerRunOptions): Promise<WorkerRun> {
  const { config } = options
  const db = await connect(connectOptionsOf(config))
  try {
    const run = await createRun({
      db,
      cleanup: cleanupOptionsOf(config),
      ...(options.factories ? { factories: options.factories } : {}),
      ...(config.emailDomain ? { emailDomain: config.emailDomain } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.worker === undefined ? {} : { worker: options.worker }),
      ...(options.shard === undefined ? {} : { shard: options.shard }),
    })
    return {
      run,
      db,
      async close({ color = false } = {}) {
        try {
          const report = await run.close()
          return { report, clean: report.clean, message: report.clean ? '' : formatCloseReport(report, { color }) }
        } finally {
          await db.close()
        }
      },
    }
  } catch (error) {
    await db.close()
    throw error
  }
}
