import type { RunContext } from '../run/run-context.js'
import { TestScope } from '../run/test-scope.js'
import { buildRow } from './build-row.js'
import { Factory } from './define-factory.js'
import { inSearchSchema } from '../table-key.js'
import { tableInfo } from './table-info.js'

/** A table's column that a factory fills with a tagged value (`f.id()`, `f.email()`, `f.slug()`). */
export interface FactoryTagColumn {
  /** `schema.table` */
  table: string
  column: string
}

/**
 * The columns each factory fills with the run's tags, found by building one row of it (and one per
 * trait) on a throwaway scope, without a database: what the registry must know before the first insert.
 * Foreign-key columns are left out; a factory that cannot be built without arguments adds nothing.
 *
 * @example
 * tagColumnsOfFactories([users, bookings], run) // [{ table: 'public.users', column: 'id' }, …]
 */
export function tagColumnsOfFactories(factories: Iterable<unknown>, run: RunContext): FactoryTagColumn[] {
  // Scope 0's prefix: ids built here are never inserted, so sharing it with the worker's scope 0 is harmless.
  const scope = new TestScope(run, 0, '(tag columns)', 0)
  const found = new Map<string, FactoryTagColumn>()
  for (const factory of factories) {
    if (!(factory instanceof Factory)) continue
    const state = factory.state
    const info = tableInfo(state.table)
    for (const traits of [[], ...[...state.traits.keys()].map((name) => [name])]) {
      let row: Record<string, unknown>
      try {
        row = buildRow({ ...state, applied: [...state.applied, ...traits] }, scope, undefined)
      } catch {
        continue // needs transient params or overrides: its inserts will teach the registry instead
      }
      for (const [key, column] of info.tagCandidates) {
        const value = row[key]
        if (typeof value === 'string' && value.startsWith(scope.prefix)) {
          const table = inSearchSchema(info.qualifiedName, run.searchSchema)
          found.set(`${table}\u0000${column}`, { table, column })
        }
      }
    }
  }
  return [...found.values()]
}
