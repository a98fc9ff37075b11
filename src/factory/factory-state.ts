import type { FactoryContext, RowOf, AnyTable } from './types.js'

export type Attributes = Record<string, unknown>
export type DefaultsFn = (f: FactoryContext<Attributes>) => Attributes
export type TraitFn = Attributes | DefaultsFn
export type AfterBuildHook = (row: Attributes, f: FactoryContext<Attributes>) => void
export type AfterCreateHook = (row: RowOf<AnyTable>, ctx: AfterCreateContext<Attributes>) => void | Promise<void>

/** What an `afterCreate` hook receives besides the row. */
export interface AfterCreateContext<TTransient> {
  readonly scope: FactoryContext<TTransient>['scope']
  readonly transient: TTransient
}

/** Everything a factory is; immutable, every modifier copies it. */
export interface FactoryState {
  readonly name: string
  readonly table: AnyTable
  readonly defaults: DefaultsFn
  readonly traits: ReadonlyMap<string, TraitFn>
  /** Traits applied to every row of this factory, in order. */
  readonly applied: readonly string[]
  readonly transient: Attributes
  readonly afterBuild: readonly AfterBuildHook[]
  readonly afterCreate: readonly AfterCreateHook[]
}
