import { ConnectionError } from '../errors.js'
import { captureCaller, type CallerSite, type LedgerEntry } from '../run/ledger.js'
import type { TestScope } from '../run/test-scope.js'
import type { Attributes, FactoryState } from './factory-state.js'
import { toInsertError } from './insert-error.js'
import { DEFAULT_QUERY_TIMEOUT_MS, retryWhile, withDeadline } from '../deadline.js'
import { isLostBeforeCommit } from '../driver-error.js'
import { compileInsert, executeInsert } from './insert-statement.js'
import { rawQueryOf, type DrizzleDatabase } from '../run/database-like.js'
import { withJournal, type JournalTarget } from '../registry/journal-sql.js'
import { registryTable } from '../registry/registry-sql.js'
import { learnColumn, type RegistryLink } from '../run/registry-link.js'
import { sql } from 'drizzle-orm'
import { isRef } from './ref.js'
import { tableInfo, type TableInfo } from './table-info.js'
import { inSearchSchema, parseTableKey } from '../table-key.js'
import type { AnyTable, InsertOf, Overrides, RowOf } from './types.js'
import { Factory } from './define-factory.js'
import { buildRow, checkCount, notBound, prepare, refKey, runAfterBuild, stateOf, type Prepared } from './build-row.js'

export { MAX_LIST_SIZE } from './build-row.js'

/** Parameters per INSERT stay below PostgreSQL's 65 535 (postgres.js refuses 65 534 and more). */
const MAX_PARAMS_PER_INSERT = 60_000

export async function createRows(
  state: FactoryState,
  scope: TestScope,
  count: number,
  overrides: Attributes | undefined,
  caller: CallerSite,
): Promise<Attributes[]> {
  const db = scope.db
  if (db === null) throw notBound(state)
  const info = tableInfo(state.table)
  const prepared: Prepared[] = []
  for (let i = 0; i < count; i++) prepared.push(prepare(state, scope, overrides))

  // Parents first: one list per (parent factory, key), so n children need one INSERT per parent column.
  const pending = new Map<FactoryState, Map<string, Array<[Attributes, string]>>>()
  for (const { row } of prepared) {
    for (const column in row) {
      const value = row[column]
      if (!isRef(value)) continue
      const parentState = stateOf(value.factory)
      const byKey = pending.get(parentState) ?? new Map<string, Array<[Attributes, string]>>()
      pending.set(parentState, byKey)
      const key = refKey(value, state.name, column)
      const targets = byKey.get(key) ?? []
      byKey.set(key, targets)
      targets.push([row, column])
    }
  }
  for (const [parentState, byKey] of pending) {
    for (const [key, targets] of byKey) {
      const parents = await createRows(parentState, scope, targets.length, undefined, caller)
      targets.forEach(([row, column], i) => (row[column] = parents[i]![key]))
    }
  }
  for (const p of prepared) runAfterBuild(state, p)

  const rows = prepared.map((p) => p.row)
  const chunk = Math.max(1, Math.floor(MAX_PARAMS_PER_INSERT / info.keys.size))
  const raw = rawQueryOf(db)
  const registry = scope.run.registry
  const created: Attributes[] = []
  for (let start = 0; start < rows.length; start += chunk) {
    const slice = rows.slice(start, start + chunk)
    const target = registry === null ? null : journalTarget(registry, info, scope, slice)
    let returned: Attributes[]
    try {
      const statement = raw === null ? null : compileInsert(state.table, slice, { arrays: raw.arrays })
      // Untagged keys and new tag columns go to the registry in the statement of the insert itself.
      const journaled =
        statement === null || target === null ? statement : { ...statement, ...withJournal(statement, target) }
      const insert = () =>
        bounded(
          journaled !== null ? executeInsert(db, raw!, journaled) : insertWithBuilder(db, state.table, slice, target),
          state.name,
          info.qualifiedName,
        )
      // A server restart: the first statement on a pooled connection it ended fails without being applied.
      returned = await retryWhile(insert, isLostBeforeCommit)
    } catch (error) {
      throw toInsertError(error, state.name, info.qualifiedName)
    }
    if (target !== null)
      for (const { column } of target.newTagColumns) learnColumn(registry!, tableOf(info, scope), column)
    scope.ledger.record(ledgerEntries(state, info, scope, returned, caller))
    for (const row of returned) created.push(row)
  }
  for (const hook of state.afterCreate) {
    for (const [i, row] of created.entries()) {
      await hook(row as RowOf<AnyTable>, { scope, transient: prepared[i]!.ctx.transient })
    }
  }
  return created
}

/** The table's key where the run's rows are: its schema, or the run's search schema (isolation 'schema'). */
const tableOf = (info: TableInfo, scope: TestScope) => inSearchSchema(info.qualifiedName, scope.run.searchSchema)

/** What the registry must learn from inserting these rows: untagged keys and tag columns it does not know. */
function journalTarget(registry: RegistryLink, info: TableInfo, scope: TestScope, rows: Attributes[]): JournalTarget {
  const runPrefix = scope.run.runPrefix
  const known = registry.known.get(tableOf(info, scope))
  const fresh = new Set<string>()
  let journal = false
  for (const row of rows) {
    let tagged = false
    for (const [key, column] of info.tagCandidates) {
      const value = row[key]
      if (typeof value !== 'string' || !value.startsWith(runPrefix)) continue
      tagged = true
      if (!known?.has(column)) fresh.add(column)
    }
    if (!tagged) journal = true
  }
  return {
    prefix: scope.prefix,
    runPrefix,
    runTag: scope.run.runTag,
    schema: parseTableKey(tableOf(info, scope)).schema,
    table: info.name,
    keyColumns: info.primaryKey.map((k) => info.columnNames.get(k)!),
    stringColumns: info.stringColumns,
    newTagColumns: [...fresh].map((column) => ({ column, source: 'insert' as const })),
    journal,
  }
}

/** drizzle's builder (values it alone can compile) and the registry writes, in one transaction. */
async function insertWithBuilder(
  db: DrizzleDatabase,
  table: AnyTable,
  rows: Attributes[],
  target: JournalTarget | null,
): Promise<Attributes[]> {
  if (target === null)
    return (await db
      .insert(table)
      .values(rows as never)
      .returning()) as Attributes[]
  return db.transaction(async (tx) => {
    const returned = (await tx
      .insert(table)
      .values(rows as never)
      .returning()) as Attributes[]
    const info = tableInfo(table)
    const keys: Array<Record<string, string>> = []
    for (const row of returned) {
      const tagged = [...info.tagCandidates.keys()].some(
        (key) => typeof row[key] === 'string' && (row[key] as string).startsWith(target.runPrefix),
      )
      if (tagged || info.primaryKey.length === 0) continue
      keys.push(Object.fromEntries(info.primaryKey.map((k) => [info.columnNames.get(k)!, keyText(row[k])])))
    }
    if (keys.length > 0) {
      await tx.execute(
        sql`insert into ${sql.raw(registryTable('untagged'))} (prefix, table_schema, table_name, key) select ${target.prefix}::text, ${target.schema}::text, ${target.table}::text, value from jsonb_array_elements(${JSON.stringify(keys)}::jsonb)`,
      )
    }
    for (const { column, source } of target.newTagColumns) {
      await tx.execute(
        sql`insert into ${sql.raw(registryTable('tag_columns'))} (run_tag, table_schema, table_name, column_name, source) values (${target.runTag}::text, ${target.schema}::text, ${target.table}::text, ${column}::text, ${source}::text) on conflict do nothing`,
      )
    }
    return returned
  })
}

// A key value as PostgreSQL's text form, which the registry stores and casts back.
function keyText(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value)
}

function ledgerEntries(
  state: FactoryState,
  info: TableInfo,
  scope: TestScope,
  rows: Attributes[],
  caller: CallerSite,
): LedgerEntry[] {
  const runPrefix = scope.run.runPrefix
  const at = new Date()
  return rows.map((row) => {
    const key: Attributes = {}
    for (const k of info.primaryKey) key[info.columnNames.get(k)!] = row[k]
    let tag: string | null = null
    const tagColumns: string[] = []
    for (const [k, column] of info.tagCandidates) {
      const value = row[k]
      if (typeof value === 'string' && value.startsWith(runPrefix)) {
        tagColumns.push(column)
        tag ??= value
      }
    }
    return {
      table: tableOf(info, scope),
      key,
      tag,
      tagColumns,
      scope: scope.number,
      test: scope.name,
      get caller() {
        return caller()
      },
      factory: state.name,
      at,
    }
  })
}

/** A factory bound to a test scope: its ids, seeded faker, database and ledger. */
export class BoundFactory<
  TTable extends AnyTable,
  TDefaults,
  TTransient extends Record<string, unknown>,
  TTraits extends string,
> {
  readonly #state: FactoryState
  readonly scope: TestScope

  /** @internal use `scope.bind({ … })` */
  constructor(state: FactoryState, scope: TestScope) {
    this.#state = state
    this.scope = scope
  }

  get name(): string {
    return this.#state.name
  }

  /** The same factory with these traits applied to every row, in order. */
  trait(...names: TTraits[]): BoundFactory<TTable, TDefaults, TTransient, TTraits> {
    return new Factory<TTable, TDefaults, TTransient, TTraits>(this.#state).trait(...names).bindTo(this.scope)
  }

  /** A row as a plain object, without the database; references are built too. */
  build(overrides?: Overrides<TTable, TDefaults, TTransient>): InsertOf<TTable> {
    return buildRow(this.#state, this.scope, overrides as Attributes | undefined) as InsertOf<TTable>
  }

  buildList(count: number, overrides?: Overrides<TTable, TDefaults, TTransient>): InsertOf<TTable>[] {
    checkCount(this.#state, count)
    return Array.from({ length: count }, () => this.build(overrides))
  }

  /** Inserts one row (`INSERT … RETURNING *`) and returns it as the database stored it. */
  async create(overrides?: Overrides<TTable, TDefaults, TTransient>): Promise<RowOf<TTable>> {
    const rows = await createRows(this.#state, this.scope, 1, overrides as Attributes | undefined, captureCaller())
    return rows[0] as RowOf<TTable>
  }

  /** Inserts `count` rows with one multi-row INSERT (chunked only past 60 000 parameters). */
  async createList(count: number, overrides?: Overrides<TTable, TDefaults, TTransient>): Promise<RowOf<TTable>[]> {
    checkCount(this.#state, count)
    const rows = await createRows(this.#state, this.scope, count, overrides as Attributes | undefined, captureCaller())
    return rows as RowOf<TTable>[]
  }
}

/** An insert the server never answers fails with DB_TIMEOUT instead of hanging the test. */
function bounded<T>(insert: Promise<T>, factory: string, table: string): Promise<T> {
  const ms = DEFAULT_QUERY_TIMEOUT_MS
  return withDeadline(
    insert,
    ms,
    () =>
      new ConnectionError(
        'DB_TIMEOUT',
        `Factory "${factory}" got no answer from PostgreSQL within ${ms} ms while inserting into ${table}: the server is stuck or unreachable, or the insert waits on a lock that is never released (pg_stat_activity shows it).`,
        { details: { factory, table, timeoutMs: ms } },
      ),
  )
}
