import { audit, narrowReport } from '../audit/audit.js'
import { connect } from '../db/connect.js'
import type { Database } from '../db/database.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import type { CleanupReport, CloseReport, RunCleaner } from '../run/cleanup-contract.js'
import { appendToJournal, removeJournal } from '../run/crash-journal.js'
import type { Ledger } from '../run/ledger.js'
import { createRunSync, type CreateRunOptions, type RunContext } from '../run/run-context.js'
import { cleanupPrefix, type CleanupOptions } from './execute.js'
import { acquireLease, type Lease } from './lease.js'

/** How cleanup treats this run's database. */
export type RunCleanupOptions = Pick<
  CleanupOptions,
  'tagColumns' | 'nullableDependents' | 'lockTimeoutMs' | 'retries' | 'guard' | 'schemas'
>

export interface RunOptions extends Omit<CreateRunOptions, 'db'> {
  /** The database: the handle `connect()` returns, or a drizzle instance (postgres.js or PGlite). */
  db?: Database | DrizzleDatabase
  cleanup?: RunCleanupOptions
}

function isDatabaseHandle(db: Database | DrizzleDatabase): db is Database {
  return (
    'drizzle' in db &&
    typeof (db as Database).execute === 'function' &&
    typeof (db as Database).transaction === 'function'
  )
}

/** Cleans prefixes of one run context: tag columns learnt from its ledger, untagged rows by key. */
class Cleaner implements RunCleaner {
  constructor(
    private readonly db: Database,
    private readonly run: RunContext,
    private readonly options: RunCleanupOptions,
    private readonly lease: Lease | null,
  ) {}

  /** Scope prefixes whose cleanup ran: rows found with them at close were written after it. */
  readonly #cleaned = new Set<string>()

  async cleanPrefix(prefix: string, ledger: Ledger): Promise<CleanupReport> {
    const untagged = ledger.untaggedLive()
    const report = await cleanupPrefix(this.db, prefix, {
      ...this.options,
      learntTagColumns: this.run.ledger.tagColumns(),
      keys: ledger.untaggedKeys(),
    })
    if (prefix !== this.run.prefix) this.#cleaned.add(prefix)
    // Deleted now: keep the crash journal to the untagged rows that still exist.
    ledger.markDeleted(untagged)
    if (untagged.length > 0) {
      const { stateDir, runTag, processField } = this.run
      removeJournal(stateDir, runTag, processField)
      appendToJournal(stateDir, runTag, processField, this.run.ledger.untaggedLive())
    }
    return report
  }

  async close(): Promise<CloseReport> {
    try {
      const auditWorker = () =>
        audit({
          db: this.db,
          prefix: this.run.prefix,
          ledger: this.run.ledger.entries,
          scopeNames: this.run.scopeNames,
          ...(this.options.tagColumns ? { tagColumns: this.options.tagColumns } : {}),
          ...(this.options.schemas ? { schemas: this.options.schemas } : {}),
        })
      const before = await auditWorker()
      const leftBehind = narrowReport(before, (row) => this.#isCleanedScope(row.provenance?.scopePrefix))
      const cleanup = await this.cleanPrefix(this.run.prefix, this.run.ledger)
      const after = await auditWorker()
      return { clean: leftBehind.clean && after.clean, leftBehind, cleanup, audit: after }
    } finally {
      await this.lease?.release()
    }
  }

  #isCleanedScope(scopePrefix: string | undefined): boolean {
    return scopePrefix !== undefined && this.#cleaned.has(scopePrefix)
  }
}

/**
 * Creates the run context of this worker process. With a database, `scope.cleanup()` and
 * `run.cleanup()` delete what the test (or the worker) owns, the run holds a lease that keeps the
 * sweep away from its rows while it lives, and `run.close()` cleans up and audits.
 *
 * @example
 * const run = await createRun({ db: await connect() })
 * const t = run.scope('books a lesson')
 * await t.bind({ users }).users.create()
 * await t.cleanup()
 */
export async function createRun(options: RunOptions = {}): Promise<RunContext> {
  const { db, cleanup, ...rest } = options
  const database = db === undefined ? undefined : isDatabaseHandle(db) ? db : await connect({ db })
  const run = createRunSync({ ...rest, ...(database ? { db: database } : {}) })
  if (database !== undefined) {
    const lease = await acquireLease(database, run.prefix)
    run.cleaner = new Cleaner(database, run, cleanup ?? {}, lease)
  }
  return run
}

/**
 * Deletes everything a whole run owns (every worker, every shard), e.g. after a CI run.
 *
 * @example
 * await cleanupRun(db, process.env.LEAKLESS_RUN!)
 */
export function cleanupRun(db: Database, runTag: string, options: CleanupOptions = {}): Promise<CleanupReport> {
  return cleanupPrefix(db, `${runTag}-`, options)
}
