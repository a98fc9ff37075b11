import { databaseOf } from '../db/database-input.js'
import { retryWhileLost } from '../db/connection-lost.js'
import type { Database } from '../db/database.js'
import { assertSafeTarget } from '../db/guard.js'
import { isLeaklessError } from '../errors.js'
import { tagColumnsOfFactories } from '../factory/tag-columns.js'
import { inSearchSchema } from '../table-key.js'
import { allocateProcessNumber } from '../registry/processes.js'
import { registerProcess, type RegisteredColumn } from '../registry/registry.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import { learnColumn, type RegistryLink } from '../run/registry-link.js'
import { createRunSync, runTagOf, type CreateRunOptions, type RunContext } from '../run/run-context.js'
import { withTableKeys } from '../cleanup/execute.js'
import { acquireLease, openLeaseConnection, type LeaseConnection } from '../cleanup/lease.js'
import { DatabaseCleaner, type RunCleanupOptions } from '../cleanup/run-cleaner.js'

export interface RunOptions extends Omit<CreateRunOptions, 'db'> {
  /** The database: the handle `connect()` returns, or a drizzle instance (postgres.js or PGlite). */
  db?: Database | DrizzleDatabase
  cleanup?: RunCleanupOptions
  /**
   * The factories this run's tests use (a map or a list). Each is built once, without the database, to
   * learn which columns carry tags; the run registry records them before the first insert, so the sweep
   * and `audit --run` know them even when this process dies. @default none
   */
  factories?: Iterable<unknown> | Record<string, unknown>
  /**
   * @internal The schema first on `db`'s `search_path` (isolation 'schema'): tables declared without a
   * schema, and config keys in `public`, are that schema's.
   */
  searchSchema?: string
}

/** The run's tag columns known before any insert: declared in the config, and filled by its factories. */
function columnsBeforeInserts(run: RunContext, options: RunOptions): RegisteredColumn[] {
  const declared = Object.entries(options.cleanup?.tagColumns ?? {}).flatMap(([table, columns]) =>
    columns.map((column) => ({ table, column, source: 'declared' as const })),
  )
  const list =
    options.factories === undefined
      ? []
      : Symbol.iterator in options.factories
        ? [...(options.factories as Iterable<unknown>)]
        : Object.values(options.factories)
  const built = tagColumnsOfFactories(list, run).map((c) => ({ ...c, source: 'factory' as const }))
  return [...declared, ...built]
}

/** The cleanup options with keys of `public` tables moved to the search schema (isolation 'schema'). */
function inSchema(options: RunCleanupOptions, searchSchema: string | null): RunCleanupOptions {
  if (searchSchema === null) return options
  const move = <T>(map: Readonly<Record<string, T>> | undefined) =>
    map && Object.fromEntries(Object.entries(map).map(([key, value]) => [inSearchSchema(key, searchSchema), value]))
  const out = { ...options }
  if (options.tagColumns) out.tagColumns = move(options.tagColumns)!
  if (options.nullableDependents) out.nullableDependents = move(options.nullableDependents)!
  return out
}

/** Whether the guard allows writing the registry here (where it refuses, nothing could be cleaned either). */
async function registryAllowed(db: Database, options: RunOptions): Promise<boolean> {
  try {
    await assertSafeTarget(db, options.cleanup?.guard)
    return true
  } catch (error) {
    if (isLeaklessError(error) && error.name === 'GuardError') return false
    throw error
  }
}

/** Registers the run's process in the database's run registry; the link tells factories to journal untagged keys. */
async function linkRegistry(db: Database, run: RunContext, options: RunOptions): Promise<RegistryLink> {
  const columns = columnsBeforeInserts(run, options)
  await registerProcess(db, {
    runTag: run.runTag,
    runStartedAt: run.startedAt,
    prefix: run.prefix,
    shard: run.shard,
    worker: run.worker,
    pid: run.pid,
    tagColumns: columns,
  })
  const link: RegistryLink = { known: new Map() }
  for (const c of columns) learnColumn(link, c.table, c.column)
  return link
}

/**
 * Creates the run context of this worker process. With a database, the run registers itself in the
 * database's run registry (schema `leakless`), `scope.cleanup()` and `run.cleanup()` delete what the
 * test (or the worker) owns, the run holds a lease that keeps the sweep away from its rows while it
 * lives, and `run.close()` cleans up and audits.
 *
 * @example
 * const run = await createRun({ db: await connect(), factories: { users } })
 * const t = run.scope('books a lesson')
 * await t.bind({ users }).users.create()
 * await t.cleanup()
 */
export async function createRun(input: RunOptions = {}): Promise<RunContext> {
  // Table keys of the config as leakless writes them, before anything is registered.
  const options =
    input.cleanup === undefined
      ? input
      : { ...input, cleanup: inSchema(withTableKeys(input.cleanup), input.searchSchema ?? null) }
  const database = options.db === undefined ? undefined : await databaseOf(options.db, 'createRun()')
  if (database === undefined) return createRunSync(contextOptions(options))
  // The lease's own connection starts connecting now, beside the registry's statements.
  const leaseConnection = openLeaseConnection(database)
  try {
    return await registeredRun(database, options, leaseConnection)
  } finally {
    await leaseConnection?.discard()
  }
}

/** The options of the run context itself; the others are createRun's. */
function contextOptions({
  db: _db,
  cleanup: _cleanup,
  factories: _factories,
  searchSchema: _schema,
  ...rest
}: RunOptions) {
  return rest
}

async function registeredRun(
  database: Database,
  options: RunOptions,
  leaseConnection: LeaseConnection | null,
): Promise<RunContext> {
  const rest = contextOptions(options)
  const runTag = runTagOf(rest)
  const searchSchema = options.searchSchema ?? null
  // With the registry, the process field is a number it hands out once per run: short ids (a run tag
  // past the numbers' retention gets a long field). Each step is idempotent or harmless to repeat (a
  // number lost to a retry is skipped), so a server that is restarting gets a few seconds to come back.
  const registry = await retryWhileLost(() => registryAllowed(database, options))
  // A number handed out already (isolation 'schema' names the schema from the prefix before the run exists).
  const processNumber =
    rest.processNumber != null
      ? rest.processNumber
      : registry
        ? await retryWhileLost(() => allocateProcessNumber(database, runTag))
        : null
  const run = createRunSync({ ...rest, runTag, db: database, processNumber })
  run.searchSchema = searchSchema
  // The lease before the registration: a sweep that finds the registered process must see it alive.
  // A retry after a lost connection opens a new one: the connection opened ahead is taken once.
  const lease = await retryWhileLost(() => acquireLease(database, run.prefix, leaseConnection))
  try {
    if (registry) run.registry = await retryWhileLost(() => linkRegistry(database, run, options))
  } catch (error) {
    await lease.release()
    throw error
  }
  run.cleaner = new DatabaseCleaner(database, run, options.cleanup ?? {}, lease)
  return run
}
