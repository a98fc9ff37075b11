/** The database schema as cleanup sees it: tables, primary keys, text columns and foreign keys. */

/** What PostgreSQL does to referencing rows when the referenced row is deleted. */
export type OnDelete = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default'

export interface ColumnSchema {
  name: string
  /** `format_type()` of the column, e.g. `text`, `bigint`, `timestamp with time zone`. */
  type: string
  nullable: boolean
  /** text, varchar, char or citext (a column that can carry a tag). */
  textual: boolean
  /** A valid btree index leads with it and can serve `LIKE 'prefix%'` (pattern ops or C collation). */
  prefixIndexed?: boolean
}

export interface TableSchema {
  /** Its key, as `tableKey` writes it (`public.users`, `x."y.z"`). */
  name: string
  schema: string
  table: string
  /** Primary-key columns in key order; empty when the table has none. */
  primaryKey: string[]
  columns: ColumnSchema[]
  /** Size of its heap (all partitions) when introspected, in bytes; unknown when absent. */
  bytes?: number
}

export interface ForeignKey {
  /** Constraint name. */
  name: string
  /** Referencing table (its key: `public.sessions`) and its columns, in constraint order. */
  table: string
  columns: string[]
  /** Referenced table and columns, matched position by position with `columns`. */
  refTable: string
  refColumns: string[]
  /** True when any referencing column is nullable (a row can exist without the parent). */
  nullable: boolean
  onDelete: OnDelete
  deferrable: boolean
  initiallyDeferred: boolean
}

export interface SchemaGraph {
  tables: ReadonlyMap<string, TableSchema>
  foreignKeys: readonly ForeignKey[]
}

/** Foreign keys that point at `table` (its dependents). */
export function referencing(graph: SchemaGraph, table: string): ForeignKey[] {
  return graph.foreignKeys.filter((fk) => fk.refTable === table)
}
