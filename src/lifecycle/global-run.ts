import { audit, narrowReport } from '../audit/audit.js'
import type { AuditReport } from '../audit/types.js'
import { cleanupRegistered } from '../cleanup/registered-cleanup.js'
import { forgetRunIfDone } from '../registry/registry.js'
import { sweep, type SweepReport } from '../cleanup/sweep.js'
import type { LeaklessConfig } from '../config/define-config.js'
import { loadConfig, type ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import { announceTarget, GUARD_NOTICE_ENV } from '../db/guard.js'
import { ensureSchema } from '../db/migrate.js'
import { createRunTag, parseRunTag } from '../ids/run-tag.js'
import { parseShard } from '../run/environment.js'
import { cleanupOptionsOf, configuredUrl, connectOptionsOf, sweepThresholdMs } from './config-options.js'
import { formatTeardownReport } from './report.js'

export interface GlobalRunOptions {
  /** Options that override `leakless.config.ts`. */
  config?: LeaklessConfig
  /** Where `leakless.config.*` is searched. @default process.cwd() */
  cwd?: string
  /** This process's CI shard (1-based); teardown audits only its processes. @default `LEAKLESS_SHARD`, else none */
  shard?: number | null
  /** Where progress lines go. @default console.error */
  log?: (line: string) => void
  /** The environment this run's workers (and an app server) inherit. @default process.env */
  env?: NodeJS.ProcessEnv
}

/** A run under way: what the global setup prepared, and its teardown. */
export interface GlobalRun {
  readonly runTag: string
  /** The database URL workers and an app server use (also in `DATABASE_URL` unless that was set). */
  readonly databaseUrl: string | null
  readonly config: ResolvedConfig
  /** What the sweep of dead runs removed at setup; null when it is off. */
  readonly swept: SweepReport | null
  /** Sweeps this run's workers that never closed, audits the run's rows, cleans what is left; then disconnects. */
  teardown(options?: { color?: boolean }): Promise<RunTeardownReport>
}

export interface RunTeardownReport {
  runTag: string
  /** Workers of this run (this shard) that ended without closing, and what was swept of them. */
  crashed: SweepReport
  /** Rows of the run (this shard) still in the database after that sweep; they are then deleted. */
  audit: AuditReport
  /** No crashed worker left rows, and the audit found none. */
  clean: boolean
  /** `onLeak` from the configuration. */
  onLeak: 'fail' | 'warn'
  /** A readable account of what was found; empty when clean. */
  message: string
}

/**
 * The global setup of a test run: loads `leakless.config.ts`, connects (starting the embedded
 * PostgreSQL when no URL is set), applies the migrations once, sets `LEAKLESS_RUN` for the workers,
 * and sweeps dead runs older than the threshold.
 *
 * @example
 * const run = await startGlobalRun()
 * // … the runner's workers run the tests …
 * const report = await run.teardown()
 */
export async function startGlobalRun(options: GlobalRunOptions = {}): Promise<GlobalRun> {
  const env = options.env ?? process.env
  const log = options.log ?? ((line: string) => console.error(line))
  const config = await loadConfig({
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.config ? { overrides: options.config } : {}),
  })
  const db = await connect({ ...connectOptionsOf(config), env, max: 4 })
  try {
    if (config.migrations !== undefined) await ensureSchema(db, { migrationsFolder: config.migrations })
    const runTag = env.LEAKLESS_RUN ? parseRunTag(env.LEAKLESS_RUN) : createRunTag()
    env.LEAKLESS_RUN = runTag
    const databaseUrl = configuredUrl(config, env)
    if (databaseUrl !== null && !env.DATABASE_URL) env.DATABASE_URL = databaseUrl
    const shard =
      options.shard === undefined ? (env.LEAKLESS_SHARD ? parseShard(env.LEAKLESS_SHARD) : null) : options.shard
    if (shard !== null) env.LEAKLESS_SHARD = String(shard)

    const configured = cleanupOptionsOf(config)
    const cleanup = { ...configured, guard: { ...configured.guard, env, ...(options.log ? { log: options.log } : {}) } }
    // The guard's notice, once for the whole run: the workers and an app server inherit the line and stay quiet.
    delete env[GUARD_NOTICE_ENV]
    const notice = await announceTarget(db, cleanup.guard)
    if (notice !== null) env[GUARD_NOTICE_ENV] = notice
    // The sweep deletes with the cleanup's rules: tag columns, schemas, nullable dependents, guard.
    const sweepOptions = { db, ...cleanup }
    const olderThanMs = sweepThresholdMs(config)
    const swept = olderThanMs === null ? null : await sweep({ ...sweepOptions, olderThanMs, exceptRunTag: runTag })
    const sweptRows = swept?.swept.reduce((n, p) => n + Object.values(p.deleted).reduce((a, b) => a + b, 0), 0) ?? 0
    if (sweptRows > 0) log(`leakless: swept ${sweptRows} rows of ${swept!.swept.length} dead test processes`)

    return {
      runTag,
      databaseUrl,
      config,
      swept,
      async teardown({ color = false } = {}) {
        try {
          // Workers killed before their close: the registry lists them, their leases are free.
          const crashed = await sweep({ ...sweepOptions, olderThanMs: 0, runTag, shard, forget: false })
          // Deep, once per run: also text columns only the app filled, in tables of any size.
          const found = await audit({
            db,
            runTag,
            deep: true,
            ...(cleanup.tagColumns ? { tagColumns: cleanup.tagColumns } : {}),
            ...(cleanup.schemas ? { schemas: cleanup.schemas } : {}),
          })
          // Other shards may still be running: this one answers for its own processes only.
          // A row whose maker cannot be told is reported rather than passed over.
          const report = narrowReport(
            found,
            (row) => shard === null || row.provenance === null || row.provenance.shard === shard,
          )
          const prefixes = new Set(report.rows.flatMap((row) => (row.provenance ? [row.provenance.processPrefix] : [])))
          const columns: Record<string, string[]> = {}
          for (const row of report.rows) if (row.column !== null) (columns[row.table] ??= []).push(row.column)
          for (const prefix of prefixes) await cleanupRegistered(db, prefix, { ...cleanup, learntTagColumns: columns })
          // Nothing of the run left open: the registry forgets it (another shard still running keeps it).
          await forgetRunIfDone(db, runTag, { final: true })
          const crashedRows = crashed.swept.some((p) => Object.values(p.deleted).some((n) => n > 0))
          const clean = !crashedRows && report.clean
          return {
            runTag,
            crashed,
            audit: report,
            clean,
            onLeak: config.onLeak ?? 'fail',
            message: clean ? '' : formatTeardownReport(crashed, report, { color }),
          }
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
