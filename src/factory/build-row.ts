/** Building a factory's rows without the database: defaults, traits, overrides, sequences, references, hooks. */
import { describeValue } from '../describe-value.js'
import { FactoryError } from '../errors.js'
import type { TestScope } from '../run/test-scope.js'
import type { Attributes, FactoryState } from './factory-state.js'
import { isRef, makeRef, type Ref, type Referable } from './ref.js'
import { tableInfo, type TableInfo } from './table-info.js'
import type { FactoryContext } from './types.js'
import { Factory } from './define-factory.js'

/**
 * The most rows one `buildList` / `createList` call makes. Measured on PostgreSQL 15: 100 000 users take
 * about 2.5 s and 170 MB of heap, 100 000 bookings (with their 200 000 parent users) 13 s and 390 MB; the
 * ledger keeps an entry per row until cleanup. Ten times more would approach Node's default heap limit,
 * so a larger count is refused before any row is built: create bigger data sets in several calls.
 */
export const MAX_LIST_SIZE = 100_000

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

export interface Prepared {
  row: Attributes
  ctx: Context
}

export function stateOf(factory: Referable): FactoryState {
  if (!(factory instanceof Factory)) {
    throw new FactoryError(
      'UNKNOWN_COLUMN',
      `f.ref() takes a factory made by defineFactory(); got ${describeValue(factory)}.`,
    )
  }
  return factory.state
}

/** The parent property a reference takes: the given key, else the parent's single-column primary key. */
export function refKey(ref: Ref, child: string, column: string): string {
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

export function notBound(state: FactoryState): FactoryError {
  return new FactoryError(
    'FACTORY_NOT_BOUND',
    `Factory "${state.name}" cannot create rows: its run has no database. Pass one with createRun({ db: await connect() }); build() works without a database.`,
    { details: { factory: state.name } },
  )
}

export function checkCount(state: FactoryState, count: number): void {
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
export function prepare(state: FactoryState, scope: TestScope, given: Attributes | undefined): Prepared {
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

export function runAfterBuild(state: FactoryState, prepared: Prepared): void {
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
