import { getTableColumns, is } from 'drizzle-orm'
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core'

/** One column as the generator sees it: plain data, no drizzle objects. */
export interface ColumnModel {
  /** The property name in the table object (what a factory's defaults use). */
  key: string
  /** The column's name in the database. */
  name: string
  /** drizzle's column class (`PgText`, `PgVarchar`, `PgSerial`, `PgEnumColumn`, …). */
  columnType: string
  /** drizzle's data type: `string`, `number`, `bigint`, `boolean`, `date`, `json`, `array`, `buffer`, `custom`. */
  dataType: string
  notNull: boolean
  /** A database or drizzle default, serial, identity or generated: the factory leaves it out. */
  hasDefault: boolean
  /** Part of the primary key. */
  primary: boolean
  /** Unique on its own (a one-column unique constraint or index, or the only primary key column). */
  unique: boolean
  enumValues: readonly string[]
  /** varchar(n) / char(n). */
  length: number | null
  /** A one-column foreign key: the parent's export name and its property. */
  references: { table: string; key: string } | null
  /** Part of a foreign key over several columns (the factory cannot fill it). */
  compositeReference: boolean
}

export interface TableModel {
  /** The table's export name in the schema module. */
  exportName: string
  /** The PostgreSQL schema (`public` for pgTable). */
  schema: string
  /** `schema.table` as PostgreSQL names it. */
  qualifiedName: string
  columns: ColumnModel[]
  /** Parents this table references that the schema module does not export, by qualified name. */
  unknownParents: string[]
}

/** The drizzle tables among a module's exports, each once (the first export name wins). */
export function tablesOf(exports: Record<string, unknown>): { exportName: string; table: PgTable }[] {
  const seen = new Set<unknown>()
  const tables: { exportName: string; table: PgTable }[] = []
  for (const [exportName, value] of Object.entries(exports)) {
    if (exportName === 'default' || !is(value, PgTable) || seen.has(value)) continue
    seen.add(value)
    tables.push({ exportName, table: value })
  }
  return tables
}

const qualified = (table: PgTable) => {
  const config = getTableConfig(table)
  return `${config.schema ?? 'public'}.${config.name}`
}

/** Reads drizzle tables into {@link TableModel}s: columns, keys, unique columns and one-column foreign keys. */
export function readTables(tables: readonly { exportName: string; table: PgTable }[]): TableModel[] {
  const exportOf = new Map(tables.map(({ exportName, table }) => [qualified(table), exportName]))
  return tables.map(({ exportName, table }) => {
    const config = getTableConfig(table)
    const keyOf = new Map<PgColumn, string>(Object.entries(getTableColumns(table)).map(([k, c]) => [c as PgColumn, k]))
    const primaryNames = new Set([
      ...config.columns.filter((c) => c.primary).map((c) => c.name),
      ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
    ])
    const uniqueNames = new Set([
      ...config.columns.filter((c) => c.isUnique).map((c) => c.name),
      ...config.uniqueConstraints.filter((u) => u.columns.length === 1).map((u) => u.columns[0]!.name),
      ...config.indexes
        .filter((i) => i.config.unique && i.config.columns.length === 1)
        .map((i) => (i.config.columns[0] as { name?: string }).name)
        .filter((name): name is string => typeof name === 'string'),
      ...(primaryNames.size === 1 ? primaryNames : []),
    ])
    const references = new Map<string, { table: string; key: string }>()
    const composite = new Set<string>()
    const unknownParents = new Set<string>()
    for (const fk of config.foreignKeys) {
      const { columns, foreignColumns, foreignTable } = fk.reference()
      if (columns.length !== 1) {
        for (const c of columns) composite.add(c.name)
        continue
      }
      const parent = exportOf.get(qualified(foreignTable))
      if (parent === undefined) {
        if (columns[0]!.notNull) unknownParents.add(qualified(foreignTable))
        continue
      }
      const parentKey = Object.entries(getTableColumns(foreignTable)).find(([, c]) => c === foreignColumns[0])?.[0]
      references.set(columns[0]!.name, { table: parent, key: parentKey ?? foreignColumns[0]!.name })
    }
    const columns = config.columns.map((column): ColumnModel => ({
      key: keyOf.get(column) ?? column.name,
      name: column.name,
      columnType: column.columnType,
      dataType: column.dataType,
      notNull: column.notNull,
      hasDefault:
        column.hasDefault ||
        column.generated !== undefined ||
        column.generatedIdentity !== undefined ||
        /serial/i.test(column.columnType),
      primary: primaryNames.has(column.name),
      unique: uniqueNames.has(column.name),
      enumValues: column.enumValues ?? [],
      length: lengthOf(column),
      references: references.get(column.name) ?? null,
      compositeReference: composite.has(column.name),
    }))
    return {
      exportName,
      schema: config.schema ?? 'public',
      qualifiedName: qualified(table),
      columns,
      unknownParents: [...unknownParents],
    }
  })
}

function lengthOf(column: PgColumn): number | null {
  const length = (column as unknown as { length?: unknown }).length
  return typeof length === 'number' ? length : null
}
