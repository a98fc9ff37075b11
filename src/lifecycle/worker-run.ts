import { createRun } from '../cleanup/create-run.js'
import type { ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import { databaseOf } from '../db/database-input.js'
import type { Database } from '../db/database.js'
import type { CloseReport } from '../run/cleanup-contract.js'
import type { RunnerKind } from '../run/environment.js'
import type { RunContext } from '../run/run-context.js'
import { cleanupOptionsOf, connectOptionsOf } from './config-options.js'
import { resolveDatabaseOption, type DatabaseOption } from './database-option.js'
import { formatCloseReport } from './report.js'
import { openIsolatedSchema, schemaIsolationProblem } from './schema-isolation.js'

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
  /** Worker cleanup and audit (see `run.close()`), then closes the connection leakless opened (never the user's); `message` explains leaks. */
  close(options?: { color?: boolean }): Promise<WorkerCloseResult>
}

export interface WorkerCloseResult {
  report: CloseReport
  clean: boolean
  /** A readable account of the leaks; empty when clean. */
  message: string
}

/** @internal Opens the worker's run for an adapter: the user's database or one from the configuration, options from the configuration. */
export async function openWorkerRun(options: WorkerRunOptions): Promise<WorkerRun> {
  const { config } = options
  const api = options.api ?? 'leaklessTest()'
  const own = options.db === undefined
  if (config.isolation === 'schema') {
    const problem = schemaIsolationProblem(config, !own, api, options.runner)
    if (problem !== null) throw problem
  }
  const isolated =
    config.isolation === 'schema'
      ? await openIsolatedSchema(config, { runner: options.runner, worker: options.worker, shard: options.shard })
      : null
  const db =
    isolated?.db ??
    (own
      ? await connect(connectOptionsOf(config))
      : await databaseOf(await resolveDatabaseOption(options.db, api), api))
  // The user's pool stays open: run.close() releases what the run holds (its lease), closing is theirs.
  const closeDb = () => (isolated ? isolated.close() : own ? db.close() : Promise.resolve())
  const cleanup = cleanupOptionsOf(config)
  try {
    const run = await createRun({
      db,
      // Isolation 'schema': cleanup and the audit look at the context's schema.
      cleanup: isolated ? { ...cleanup, schemas: [isolated.schema] } : cleanup,
      ...(isolated ? { processNumber: isolated.processNumber, searchSchema: isolated.schema } : {}),
      ...(options.factories ? { factories: options.factories } : {}),
      ...(config.emailDomain ? { emailDomain: config.emailDomain } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.worker === undefined ? {} : { worker: options.worker }),
      ...(options.shard === undefined ? {} : { shard: options.shard }),
    })
    if (isolated && run.prefix !== isolated.prefix) {
      await run.close()
      throw new Error(`leakless: the run context's prefix ${run.prefix} is not its schema's (${isolated.prefix})`)
    }
    return {
      run,
      db,
      async close({ color = false } = {}) {
        try {
          const report = await run.close()
          // After the lease is gone: a process that dies in between leaves a recorded schema the sweep drops.
          await isolated?.drop()
          return { report, clean: report.clean, message: report.clean ? '' : formatCloseReport(report, { color }) }
        } finally {
          await closeDb()
        }
      },
    }
  } catch (error) {
    await isolated?.drop().catch(() => {}) // recorded: the sweep drops it otherwise
    await closeDb()
    throw error
  }
}
