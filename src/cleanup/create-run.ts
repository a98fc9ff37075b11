import { connect } from '../db/connect.js'
import type { Database } from '../db/database.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import type { CleanupReport, RunCleaner } from '../run/cleanup-contract.js'
import type { Ledger } from '../run/ledger.js'
import { createRunSync, type CreateRunOptions, type RunContext } from '../run/run-context.js'
import { cleanupPrefix, type CleanupOptions } from './execute.js'

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
  ) {}

  cleanPrefix(prefix: string, ledger: Ledger): Promise<CleanupReport> {
    const learnt = this.run.ledger.tagColumns()
    const declared = this.options.tagColumns ?? {}
    const tagColumns: Record<string, string[]> = { ...learnt }
    for (const [table, columns] of Object.entries(declared)) {
      tagColumns[table] = [...new Set([...(learnt[table] ?? []), ...columns])]
    }
    return cleanupPrefix(this.db, prefix, { ...this.options, tagColumns, keys: ledger.untaggedKeys() })
  }
}

/**
 * Creates the run context of this worker process. With a database, `scope.cleanup()` and
 * `run.cleanup()` delete what the test (or the worker) owns.
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
  if (database !== undefined) run.cleaner = new Cleaner(database, run, cleanup ?? {})
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
