import type { TableSchema } from './schema-graph.js'

/** SQL text pieces for statements built from the introspected schema (names, never user values). */

/** A quoted identifier: `"name"`, inner quotes doubled. */
export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** A quoted, schema-qualified table name: `"public"."users"`. */
export const qTable = (t: TableSchema): string => `${q(t.schema)}.${q(t.table)}`

/** A string literal for names in SQL text (table names in result rows), quotes doubled. */
export const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`

/** `alias."col"`, or a row `(alias."a", alias."b")` for several columns. */
export const tuple = (alias: string, columns: readonly string[]): string =>
  columns.length === 1 ? `${alias}.${q(columns[0]!)}` : `(${columns.map((c) => `${alias}.${q(c)}`).join(', ')})`
