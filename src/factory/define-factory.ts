import { describeValue } from '../describe-value.js'
import { FactoryError } from '../errors.js'
import type { TestScope } from '../run/test-scope.js'
import { BoundFactory } from './bound-factory.js'
import type {
  AfterBuildHook,
  AfterCreateContext,
  AfterCreateHook,
  DefaultsFn,
  FactoryState,
  TraitFn,
} from './factory-state.js'
import { tableInfo } from './table-info.js'
import type { AnyTable, DefaultsShape, FactoryContext, InsertOf, NoExtraKeys, RowOf, TraitDefinition } from './types.js'

const traitMemo = new WeakMap<FactoryState, Map<string, Factory<AnyTable, unknown, never, string>>>()

function unknownTrait(factory: string, state: FactoryState, name: unknown): FactoryError {
  const known = [...state.traits.keys()]
  const shown = typeof name === 'string' ? `"${name}"` : describeValue(name)
  return new FactoryError(
    'UNKNOWN_TRAIT',
    `Factory "${factory}" has no trait ${shown}. Known traits: ${known.length ? known.join(', ') : '(none)'}. Define it with .traits({ ${typeof name === 'string' ? name : '<name>'}: { … } }).`,
    { details: { factory, trait: name } },
  )
}

/**
 * A factory definition over a drizzle table. Immutable: `traits`, `trait`, `afterBuild` and
 * `afterCreate` return new factories. Bind it to a test scope (`scope.bind({ users })`) to build
 * and create rows.
 */
export class Factory<
  TTable extends AnyTable,
  TDefaults = DefaultsShape<TTable>,
  TTransient extends Record<string, unknown> = Record<never, never>,
  TTraits extends string = never,
> {
  /** @internal */
  readonly state: FactoryState

  /** @internal use {@link defineFactory} */
  constructor(state: FactoryState) {
    this.state = state
  }

  /** The factory's name (the table name unless given): used in errors and the ledger. */
  get name(): string {
    return this.state.name
  }

  get table(): TTable {
    return this.state.table as TTable
  }

  /** Adds named traits: partial values or functions of the context, applied in the order named. */
  traits<const TNames extends string>(
    definitions: Record<TNames, TraitDefinition<TTable, TTransient>>,
  ): Factory<TTable, TDefaults, TTransient, TTraits | TNames> {
    const traits = new Map(this.state.traits)
    for (const [name, definition] of Object.entries(definitions)) traits.set(name, definition as TraitFn)
    return new Factory({ ...this.state, traits })
  }

  /** A factory whose rows all get these traits, in order (the same object for the same names). */
  trait(...names: TTraits[]): Factory<TTable, TDefaults, TTransient, TTraits> {
    // Memoised so that `f.ref(users.trait('parent'))` in a defaults function names one factory for
    // every row, and a list creates all such parents with one INSERT.
    for (const name of names) if (typeof name !== 'string') throw unknownTrait(this.name, this.state, name)
    const memoKey = names.join('\u0000')
    const memo = traitMemo.get(this.state) ?? new Map<string, Factory<AnyTable, unknown, never, string>>()
    traitMemo.set(this.state, memo)
    const known = memo.get(memoKey)
    if (known !== undefined) return known as unknown as Factory<TTable, TDefaults, TTransient, TTraits>
    for (const name of names) {
      if (!this.state.traits.has(name)) throw unknownTrait(this.name, this.state, name)
    }
    const derived = new Factory<TTable, TDefaults, TTransient, TTraits>({
      ...this.state,
      applied: [...this.state.applied, ...names],
    })
    memo.set(memoKey, derived as unknown as Factory<AnyTable, unknown, never, string>)
    return derived
  }

  /** Runs after each row is built (also before insert in `create`); may change the row in place. */
  afterBuild(
    hook: (row: InsertOf<TTable>, f: FactoryContext<TTransient>) => void,
  ): Factory<TTable, TDefaults, TTransient, TTraits> {
    return new Factory({ ...this.state, afterBuild: [...this.state.afterBuild, hook as unknown as AfterBuildHook] })
  }

  /** Runs after each row is inserted, with the returned row; may be async and create more rows. */
  afterCreate(
    hook: (row: RowOf<TTable>, ctx: AfterCreateContext<TTransient>) => void | Promise<void>,
  ): Factory<TTable, TDefaults, TTransient, TTraits> {
    return new Factory({ ...this.state, afterCreate: [...this.state.afterCreate, hook as unknown as AfterCreateHook] })
  }

  /** Binds to a scope; prefer `scope.bind({ name: factory })`. */
  bindTo(scope: TestScope): BoundFactory<TTable, TDefaults, TTransient, TTraits> {
    return new BoundFactory(this.state, scope)
  }
}

export interface DefineFactoryOptions<TTransient> {
  /** @default the table name */
  name?: string
  /** Transient params and their defaults: inputs that shape the row but are not columns. */
  transient?: TTransient
}

/**
 * Defines a factory over a drizzle table.
 *
 * @example
 * const users = defineFactory(usersTable, (f) => ({
 *   id: f.id(),
 *   email: f.email('user'),
 *   name: f.faker.person.fullName(),
 * })).traits({ instructor: { role: 'instructor' } })
 */
export function defineFactory<
  TTable extends AnyTable,
  TDefaults extends DefaultsShape<TTable>,
  TTransient extends Record<string, unknown> = Record<never, never>,
>(
  table: TTable,
  defaults: (f: FactoryContext<TTransient>) => NoExtraKeys<TDefaults, InsertOf<TTable>>,
  options: DefineFactoryOptions<TTransient> = {},
): Factory<TTable, TDefaults, TTransient, never> {
  const info = tableInfo(table)
  const transient = options.transient ?? {}
  for (const key of Object.keys(transient)) {
    if (info.keys.has(key)) {
      throw new FactoryError(
        'UNKNOWN_COLUMN',
        `Factory "${options.name ?? info.name}": transient param "${key}" has the name of a column of ${info.qualifiedName}. Rename the transient param.`,
        { details: { factory: options.name ?? info.name, key } },
      )
    }
  }
  return new Factory({
    name: options.name ?? info.name,
    table,
    defaults: defaults as unknown as DefaultsFn,
    traits: new Map(),
    applied: [],
    transient,
    afterBuild: [],
    afterCreate: [],
  })
}
