import type { TestScope } from '../run/test-scope.js'

const REF = Symbol.for('leakless.ref')

/** The minimum a referenced factory offers: its table and binding to a scope. */
export interface Referable {
  readonly name: string
  readonly table: object
  bindTo(scope: TestScope): {
    build(overrides?: object): Record<string, unknown>
    createList(count: number, overrides?: object): Promise<Record<string, unknown>[]>
  }
}

/** A placeholder for a column whose value comes from a parent row made by another factory. */
export interface Ref<F extends Referable = Referable> {
  readonly [REF]: true
  readonly factory: F
  /** The parent's property to take; undefined = its primary key. */
  readonly key: string | undefined
}

export function makeRef<F extends Referable>(factory: F, key?: string): Ref<F> {
  return { [REF]: true, factory, key }
}

export function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[REF] === true
}
