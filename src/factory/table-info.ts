import { getTableColumns, getTableName } from 'drizzle-orm'
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import { tableKey } from '../table-key.js'

/** What factories need to know about a drizzle table, computed once per table. */
export interface TableInfo {
  /** Its key, as `tableKey` writes it (`public.users`, `x."y.z"`). */
  qualifiedName: string
  name: string
  /** JS property names of the columns. */
  keys: ReadonlySet<string>
  /** JS property name → database column name. */
  columnNames: ReadonlyMap<string, string>
  /** JS property names of the primary key columns, in key order. */
  primaryKey: readonly string[]
  /** Schema and table name apart (`public`, `users`). */
  schema: string
  /**
   * JS property name → database column name of the columns that can carry a row's own tag: every column
   * but foreign-key columns (a parent's id in a row says who its parent is, not who owns the row).
   */
  tagCandidates: ReadonlyMap<string, string>
  /** Database names of the tag candidates whose values are strings in the database (text, varchar, uuid…). */
  stringColumns: readonly string[]
}

const cache = new WeakMap<PgTable, TableInfo>()

export function tableInfo(table: PgTable): TableInfo {
  let info = cache.get(table)
  if (info !== undefined) return info
  const columns = getTableColumns(table)
  const config = getTableConfig(table)
  const byDbName = new Map(Object.entries(columns).map(([key, column]) => [column.name, key]))
  const composite = config.primaryKeys[0]?.columns.map((c) => byDbName.get(c.name)!)
  const primaryKey =
    composite ??
    Object.entries(columns)
      .filter(([, c]) => c.primary)
      .map(([key]) => key)
  const fkColumns = new Set(config.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)))
  const candidates = Object.entries(columns).filter(([, c]) => !fkColumns.has(c.name))
  info = {
    qualifiedName: tableKey(config.schema ?? 'public', getTableName(table)),
    schema: config.schema ?? 'public',
    tagCandidates: new Map(candidates.map(([key, column]) => [key, column.name])),
    stringColumns: candidates.filter(([, c]) => c.dataType === 'string').map(([, c]) => c.name),
    name: getTableName(table),
    keys: new Set(Object.keys(columns)),
    columnNames: new Map(Object.entries(columns).map(([key, column]) => [key, column.name])),
    primaryKey,
  }
  cache.set(table, info)
  return info
}
