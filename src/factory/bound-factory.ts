import { describeValue } from '../describe-value.js'
import { ConnectionError, FactoryError } from '../errors.js'
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
import { isRef, makeRef, type Ref, type Referable } from './ref.js'
import { tableInfo, type TableInfo } from './table-info.js'
import { inSearchSchema, parseTableKey } from '../table-key.js'
import type { AnyTable, FactoryContext, InsertOf, Overrides, RowOf } from './types.js'
import { Factory } from './define-factory.js'

/**
 * The most rows one `buildList` / `createList` call makes. Measured on PostgreSQL 15: 100 000 users take
 * about 2.5 s and 170 MB of heap, 100 000 bookings (with their 200 000 parent users) 13 s and 390 MB; the
 * ledger keeps an entry per row until cleanup. Ten times more would approach Node's default heap limit,
 * so a larger count is refused before any row is built: create bigger data sets in several calls.
 */
export const MAX_LIST_SIZE = 100_000

/** Parameters per INSERT stay below PostgreSQL's 65 535 (postgres.js refuses 65 534 and more). */
const MAX_PARAMS_PER_INSERT = 60_000

class Context implements FactoryContext<Attributes> {
  readonly scope: TestScope
  readonly seq: number
  readonly transient: Attributes

  constructor(scope: TestScope, seq: number, transient: Attributes) {
    this.scope = scope
    this.seq = seq
    this.transient = transient
  }

  get faker() {
    return this.scope.faker
  }

  id(label?: string): string {
    return this.scope.issueForFactory('id', label)
  }

  email(label?: string, domain?: string): string {
    return this.scope.issueForFactory('email', label, domain)
  }

  slug(label?: string): string {
    return this.scope.issueForFactory('slug', label)
  }

  handle(): string {
    return this.scope.issueForFactory('handle')
  }

  ref<F extends Referable>(factory: F, key?: string): Ref<F> {
    return makeRef(factory, key)
  }
}

interface Prepared {
  row: Attributes
  ctx: Context
}

function stateOf(factory: Referable): FactoryState {
  if (!(factory instanceof Factory)) {
    throw new FactoryError(
      'UNKNOWN_COLUMN',
      `f.ref() takes a factory made by defineFactory(); got ${describeValue(factory)}.`,
    )
  }
  return factory.state
}

/** The parent property a reference takes: the given key, else the parent's single-column primary key. */
function refKey(ref: Ref, child: string, column: string): string {
  if (ref.key !== undefined) return ref.key
  const parent = tableInfo(stateOf(ref.factory).table)
  if (parent.primaryKey.length !== 1) {
    throw new FactoryError(
      'UNKNOWN_COLUMN',
      `Factory "${child}": f.ref(${ref.factory.name}) for "${column}" needs a key, because ${parent.qualifiedName} has no single-column primary key. Write f.ref(${ref.factory.name}, '<column>').`,
      { details: { factory: child, column } },
    )
  }
  return parent.primaryKey[0]!
}

function isRowObject(value: unknown): value is Attributes {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !isRef(value)
  )
}

function unknownColumn(state: FactoryState, info: TableInfo, key: string, where: string): FactoryError {
  const transient = Object.keys(state.transient)
  return new FactoryError(
    'UNKNOWN_COLUMN',
    `Factory "${state.name}": ${where} "${key}" is not a column of ${info.qualifiedName}${transient.length ? ` nor a transient param (${transient.join(', ')})` : ''}. Columns: ${[...info.keys].join(', ')}.`,
    { details: { factory: state.name, table: info.qualifiedName, column: key } },
  )
}

function notBound(state: FactoryState): FactoryError {
  return new FactoryError(
    'FACTORY_NOT_BOUND',
    `Factory "${state.name}" cannot create rows: its run has no database. Pass one with createRun({ db: await connect() }); build() works without a database.`,
    { details: { factory: state.name } },
  )
}

function checkCount(state: FactoryState, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new FactoryError(
      'INVALID_COUNT',
      `Factory "${state.name}": list size ${describeValue(count)} is not a whole number >= 0. Pass a count such as 3.`,
      { details: { factory: state.name, count } },
    )
  }
  if (count > MAX_LIST_SIZE) {
    throw new FactoryError(
      'LIST_TOO_LARGE',
      `Factory "${state.name}": a list of ${count} rows is more than the ${MAX_LIST_SIZE} one call makes (MAX_LIST_SIZE): every row is held in memory and in the ledger. Create it in calls of at most ${MAX_LIST_SIZE} rows.`,
      { details: { factory: state.name, count, max: MAX_LIST_SIZE } },
    )
  }
}

function checkOverrides(state: FactoryState, overrides: unknown): Attributes | undefined {
  if (overrides === undefined || isRowObject(overrides)) return overrides
  throw new FactoryError(
    'OPTION_INVALID',
    `Factory "${state.name}": overrides must be an object of column values, e.g. { role: 'admin' }; got ${describeValue(overrides)}.`,
    { details: { factory: state.name } },
  )
}

/** Evaluates defaults, traits and overrides for one row; references stay unresolved. */
function prepare(state: FactoryState, scope: TestScope, given: Attributes | undefined): Prepared {
  const overrides = checkOverrides(state, given)
  const info = tableInfo(state.table)
  let transient = state.transient
  let columns: Attributes | undefined
  if (overrides !== undefined) {
    for (const key of Object.keys(overrides)) {
      if (key in state.transient) {
        if (transient === state.transient) transient = { ...state.transient }
        transient[key] = overrides[key]
      } else if (info.keys.has(key)) {
        ;(columns ??= {})[key] = overrides[key]
      } else {
        throw unknownColumn(state, info, key, 'override')
      }
    }
  }
  const ctx = new Context(scope, scope.nextSequence(state.name), transient)
  const row: Attributes = { ...state.defaults(ctx) }
  for (const name of state.applied) {
    const trait = state.traits.get(name)!
    Object.assign(row, typeof trait === 'function' ? trait(ctx) : trait)
  }
  for (const key in row) if (!info.keys.has(key)) throw unknownColumn(state, info, key, 'default')
  if (columns !== undefined) {
    for (const key in columns) {
      const current = row[key]
      const value = columns[key]
      row[key] = isRef(current) && isRowObject(value) ? value[refKey(current, state.name, key)] : value
    }
  }
  return { row, ctx }
}

function runAfterBuild(state: FactoryState, prepared: Prepared): void {
  for (const hook of state.afterBuild) hook(prepared.row, prepared.ctx)
}

export function buildRow(state: FactoryState, scope: TestScope, overrides: Attributes | undefined): Attributes {
  const prepared = prepare(state, scope, overrides)
  for (const key in prepared.row) {
    const value = prepared.row[key]
    if (isRef(value)) {
      const parent = buildRow(stateOf(value.factory), scope, undefined)
      prepared.row[key] = parent[refKey(value, state.name, key)]
    }
  }
  runAfterBuild(state, prepared)
  return prepared.row
}

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
