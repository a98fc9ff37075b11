import { sqlStateOf } from '../driver-error.js'
import { CleanupError, isLeaklessError } from '../errors.js'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import type { Database, RawExecute } from '../db/database.js'
import { CONNECTION_LOCK_TIMEOUT_MS } from '../db/connect.js'
import { retryWhileLost } from '../db/connection-lost.js'
import { databaseOf, type DatabaseInput } from '../db/database-input.js'
import { describeBlockers, watchBlockers, type Blocker } from './blockers.js'
import { assertSafeTarget, type GuardOptions } from '../db/guard.js'
import { graphCovering, invalidateSchema } from '../db/introspect.js'
import type { SchemaGraph } from '../db/schema-graph.js'
import type { CleanupReport } from '../run/cleanup-contract.js'
import { columnsByTableKey, rulesByTableKey } from '../table-key.js'
import { planCleanup, type CleanupPlan, type NullableDependentRule } from './delete-plan.js'

export type { CleanupReport }

export interface CleanupOptions {
  /**
   * Table (`public.users`, `x."y.z"`; unquoted parts are read as written) → columns carrying tags,
   * besides every table's text primary key.
   */
  tagColumns?: Readonly<Record<string, readonly string[]>>
  /**
   * Tag columns learnt from factory inserts. Foreign-key columns among them are ignored: a row is owned
   * through a foreign key only by the dependent rules (NOT NULL / CASCADE), never by its value alone.
   */
  learntTagColumns?: Readonly<Record<string, readonly string[]>>
  /** Primary keys of ledger rows per table (rows that carry no tag). */
  keys?: ReadonlyMap<string, readonly Record<string, unknown>[]>
  /** Tables whose untagged rows the run registry journaled under the prefix (keys read there, in SQL). */
  registryKeys?: ReadonlySet<string>
  /** Delete the registry's journal entries under the prefix together with the rows. @default false */
  journal?: boolean
  /** Rows referencing owned rows through a nullable FK without a tag: `fail` (default), `detach` or `delete`, per table. */
  nullableDependents?: Readonly<Record<string, NullableDependentRule>>
  /** @default 5000 */
  lockTimeoutMs?: number
  /** Retries after a deadlock (40P01) or serialization failure (40001). @default 3 */
  retries?: number
  guard?: GuardOptions
  /** Schemas to introspect. @default ['public'] */
  schemas?: string[]
  /** Run the cleanup in a transaction that is rolled back: the report counts what would be deleted. */
  dryRun?: boolean
}

const ROLLBACK = Symbol('leakless.dryRun')

const RETRYABLE = new Set(['40P01', '40001'])

/** The tag columns of every table: declared ones plus text primary keys (ids lead with the tag). */
export function tagColumnsOf(graph: SchemaGraph, declared: CleanupOptions['tagColumns'] = {}): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const table of graph.tables.values()) {
    const columns = new Set(declared[table.name] ?? [])
    if (table.primaryKey.length === 1) {
      const pk = table.columns.find((c) => c.name === table.primaryKey[0])
      if (pk?.textual) columns.add(pk.name)
    }
    if (columns.size > 0) out.set(table.name, [...columns])
  }
  for (const name of Object.keys(declared)) {
    if (!graph.tables.has(name)) out.set(name, [...declared[name]!]) // planCleanup reports the unknown table
  }
  return out
}

/** The options with every table key as `tableKey` writes it (the config's may be written by hand). */
export function withTableKeys<T extends Pick<CleanupOptions, 'tagColumns' | 'learntTagColumns' | 'nullableDependents'>>(
  options: T,
): T {
  const out = { ...options }
  if (options.tagColumns) out.tagColumns = columnsByTableKey(options.tagColumns)
  if (options.learntTagColumns) out.learntTagColumns = columnsByTableKey(options.learntTagColumns)
  if (options.nullableDependents) out.nullableDependents = rulesByTableKey(options.nullableDependents)
  return out
}

/**
 * Deletes everything the prefix owns — tagged rows, ledger rows and the dependents that cannot exist
 * without them — atomically, after the safety guard allowed the target.
 */
export async function cleanupPrefix(
  database: DatabaseInput,
  prefix: string,
  input: CleanupOptions = {},
): Promise<CleanupReport> {
  assertOwnedPrefix(prefix)
  const db = await databaseOf(database, 'cleanupPrefix()')
  const options = withTableKeys(input)
  const started = performance.now()
  // A server that went away mid-cleanup rolled the transaction back: the whole cleanup runs again.
  return retryWhileLost(() => cleanupOnce(db, prefix, options, started))
}

async function cleanupOnce(
  db: Database,
  prefix: string,
  options: CleanupOptions,
  started: number,
): Promise<CleanupReport> {
  await assertSafeTarget(db, options.guard)
  let plan = await planFor(db, prefix, options)
  let refreshed = false
  const lockTimeoutMs = options.lockTimeoutMs ?? CONNECTION_LOCK_TIMEOUT_MS
  const retries = options.retries ?? 3
  const blockers: Blocker[] = []
  let diagnose = false
  for (let attempt = 1; ; attempt++) {
    try {
      const { deleted, statements } = await executePlan(db, plan, lockTimeoutMs, options.dryRun ?? false, {
        diagnose,
        blockers,
      })
      const total = Object.values(deleted).reduce((a, b) => a + b, 0)
      return {
        prefix,
        deleted,
        total,
        durationMs: performance.now() - started,
        statements,
        mode: plan.mode,
        attempts: attempt,
      }
    } catch (error) {
      const code = sqlStateOf(error)
      if (code !== undefined && RETRYABLE.has(code) && attempt <= retries) continue
      // The one-statement path cannot see who blocks it: once more in a transaction that watches.
      if (code === '55P03' && !diagnose && blockers.length === 0) {
        diagnose = true
        continue
      }
      // A table dropped since the schema was cached: plan again from the live schema, once.
      if (code === '42P01' && !refreshed) {
        refreshed = true
        invalidateSchema(db)
        plan = await planFor(db, prefix, options)
        continue
      }
      throw toCleanupError(error, prefix, lockTimeoutMs, blockers)
    }
  }
}

async function planFor(db: Database, prefix: string, options: CleanupOptions): Promise<CleanupPlan> {
  const named = [
    ...Object.keys(options.learntTagColumns ?? {}),
    ...Object.keys(options.tagColumns ?? {}),
    ...(options.keys?.keys() ?? []),
    ...(options.registryKeys ?? []),
  ]
  const graph = await graphCovering(db, options.schemas, named)
  const declared: Record<string, string[]> = {}
  for (const [table, columns] of Object.entries(options.learntTagColumns ?? {})) {
    const fkColumns = new Set(graph.foreignKeys.filter((fk) => fk.table === table).flatMap((fk) => fk.columns))
    const own = columns.filter((column) => !fkColumns.has(column))
    if (own.length > 0 && graph.tables.has(table)) declared[table] = own
  }
  for (const [table, columns] of Object.entries(options.tagColumns ?? {})) {
    declared[table] = [...new Set([...(declared[table] ?? []), ...columns])]
  }
  return planCleanup(
    graph,
    {
      prefix,
      tagColumns: tagColumnsOf(graph, declared),
      // Ledger keys of a table that no longer exists: its rows went with it.
      keys: new Map([...(options.keys ?? new Map())].filter(([table]) => graph.tables.has(table))),
      registryKeys: new Set([...(options.registryKeys ?? [])].filter((table) => graph.tables.has(table))),
      journal: options.journal ?? false,
    },
    options.nullableDependents ? { nullableDependents: options.nullableDependents } : {},
  )
}

async function executePlan(
  db: Database,
  plan: CleanupPlan,
  lockTimeoutMs: number,
  dryRun: boolean,
  watch: { diagnose: boolean; blockers: Blocker[] },
): Promise<{ deleted: Record<string, number>; statements: number }> {
  const deleted: Record<string, number> = {}
  if (plan.deletes.length === 0 && plan.checks.length === 0 && plan.detaches.length === 0) {
    return { deleted, statements: 0 }
  }
  const add = (rows: Array<{ table: string; deleted: number }>) => {
    for (const row of rows) if (row.deleted > 0) deleted[row.table] = (deleted[row.table] ?? 0) + row.deleted
  }
  // One statement is atomic on its own: one round trip on connections connect() opened (they carry
  // lock_timeout and asynchronous commit already), unless another lock timeout was asked for.
  if (
    db.source !== 'drizzle' &&
    !dryRun &&
    !watch.diagnose &&
    lockTimeoutMs === CONNECTION_LOCK_TIMEOUT_MS &&
    plan.mode === 'single' &&
    plan.checks.length === 0 &&
    plan.detaches.length === 0 &&
    plan.deletes.length === 1
  ) {
    const [statement] = plan.deletes
    add(await db.execute<{ table: string; deleted: number }>(statement!.text, statement!.params))
    return { deleted, statements: 1 }
  }
  let statements = 0
  let watcher: NodeJS.Timeout | undefined
  const transaction = db.transaction(async (run: RawExecute) => {
    const exec = <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => {
      statements++
      return run<T>(text, params)
    }
    const [session] = await exec<{ pid: number }>(
      `select set_config('lock_timeout', $1, true), set_config('synchronous_commit', 'off', true), pg_backend_pid() as pid`,
      [`${lockTimeoutMs}ms`],
    )
    // Shortly before the lock timeout, ask (on another connection) who this transaction waits for.
    watcher = watchBlockers(db, session!.pid, lockTimeoutMs, watch.blockers)
    for (const statement of plan.setup) await exec(statement.text, statement.params)
    // Gather owned keys until a whole pass finds no new one (bounded: each pass adds at least one row).
    for (let pass = 0; plan.iterate.length > 0; pass++) {
      if (pass > 10_000) throw new Error('the owned-rows fixpoint did not converge')
      let added = 0
      for (const statement of plan.iterate) {
        const [row] = await exec<{ n: number }>(statement.text, statement.params)
        added += row?.n ?? 0
      }
      if (added === 0) break
    }
    for (const check of plan.checks) {
      const [found] = await exec<{ table: string; column: string; constraint: string; row: string }>(
        check.text,
        check.params,
      )
      if (found !== undefined) {
        throw new CleanupError(
          'CLEANUP_NULLABLE_DEPENDENT',
          `Cleanup stopped, nothing deleted: ${found.table}.${found.column} references a row this cleanup owns through the nullable foreign key ${found.constraint}, and the referencing row carries no tag: ${found.row}. It is not deleted silently. If such rows belong to the test, tag them (start a text column with a scope id) or set nullableDependents: { '${found.table}': 'delete' }; to keep them and clear the reference, set nullableDependents: { '${found.table}': 'detach' }.`,
          { details: { table: found.table, column: found.column, constraint: found.constraint, row: found.row } },
        )
      }
    }
    for (const detach of plan.detaches) await exec(detach.text, detach.params)
    for (const statement of plan.deletes) add(await exec(statement.text, statement.params))
    if (dryRun) throw ROLLBACK
  })
  await transaction
    .catch((error: unknown) => {
      if (error !== ROLLBACK) throw error
    })
    .finally(() => clearTimeout(watcher))
  return { deleted, statements }
}

function toCleanupError(error: unknown, prefix: string, lockTimeoutMs: number, blockers: readonly Blocker[]): unknown {
  if (isLeaklessError(error)) return error
  const code = sqlStateOf(error)
  if (code === '55P03') {
    return new CleanupError(
      'CLEANUP_LOCK_TIMEOUT',
      `Cleanup of ${prefix} waited more than ${lockTimeoutMs} ms for a lock another session holds; nothing was deleted (the transaction rolled back) and the next cleanup will finish the job. ${describeBlockers(blockers)}, or raise lockTimeoutMs.`,
      { cause: error, details: { prefix, lockTimeoutMs, blockers: [...blockers] } },
    )
  }
  return new CleanupError(
    'CLEANUP_FAILED',
    `Cleanup of ${prefix} failed and was rolled back, nothing half-deleted: ${(error as Error).message}. The next cleanup retries it.`,
    { cause: error, details: { prefix, sqlState: code ?? null } },
  )
}
