import { getTableColumns, type Column } from 'drizzle-orm'
import { getTableConfig } from 'drizzle-orm/pg-core'
import type { DrizzleDatabase, RawQuery } from '../run/database-like.js'
import type { Attributes } from './factory-state.js'
import type { AnyTable } from './types.js'

/**
 * The multi-row `INSERT … RETURNING` of a factory list, compiled directly. drizzle's query builder
 * needs 30–120 ms to compile 1 000 rows here (1–3 ms this way); values still go through each
 * column's own `mapToDriverValue` / `mapFromDriverValue`, exactly as drizzle does.
 */
export interface InsertStatement {
  text: string
  params: unknown[]
  /** JS key and column of every returned column, to map rows back. */
  columns: Array<[string, Column]>
  /** The text does not depend on the row count: worth a prepared statement (no extra describe round trip). */
  reusable: boolean
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`

/** A drizzle SQL expression or placeholder as a value: only drizzle's builder can compile it. */
function isSqlValue(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { getSQL?: unknown }).getSQL === 'function'
}

/** One element of a PostgreSQL array literal; undefined for values it cannot spell (bytes, objects). */
function arrayElement(value: unknown): string | undefined {
  if (value === null) return 'NULL'
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value !== 'string') return undefined
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

const SERIAL_TYPES: Record<string, string> = { smallserial: 'smallint', serial: 'integer', bigserial: 'bigint' }

/** The SQL type of a column for an array cast, or null when unnest cannot carry it (arrays, odd types). */
function arrayElementType(column: Column): string | null {
  const type = (column as { getSQLType?(): string }).getSQLType?.()
  if (type === undefined || type.includes('[') || !/^[a-z][a-z0-9 (),_]*$/.test(type)) return null
  return SERIAL_TYPES[type] ?? type
}

/**
 * `INSERT … SELECT * FROM unnest($1::type[], …)`: one parameter per column instead of one per value,
 * which PostgreSQL parses and binds faster for large lists. Only when every column is given in all
 * rows or in none (a missing value must become DEFAULT, which unnest cannot say).
 */
function compileUnnest(
  target: string,
  insertable: Array<[string, Column]>,
  all: Array<[string, Column]>,
  rows: Attributes[],
): InsertStatement | null {
  const given = insertable.filter(([key]) => rows[0]![key] !== undefined)
  if (given.length === 0) return null
  const casts: string[] = []
  const params: unknown[] = []
  for (const [key, column] of given) {
    const type = arrayElementType(column)
    if (type === null) return null
    // Sent as one array literal in text form, so no driver-side array serializer is involved.
    const elements: string[] = []
    for (const row of rows) {
      const value = row[key]
      if (value === undefined || isSqlValue(value)) return null
      const element = arrayElement(value === null ? null : column.mapToDriverValue(value))
      if (element === undefined) return null
      elements.push(element)
    }
    params.push(`{${elements.join(',')}}`)
    casts.push(`$${params.length}::${type}[]`)
  }
  for (const [key] of insertable) {
    if (!given.some(([k]) => k === key) && rows.some((row) => row[key] !== undefined)) return null
  }
  const text =
    `insert into ${target} (${given.map(([, c]) => quote(c.name)).join(', ')}) select * from unnest(${casts.join(', ')}) ` +
    `returning ${all.map(([, c]) => quote(c.name)).join(', ')}`
  return { text, params, columns: all, reusable: true }
}

/** Compiles the INSERT, or returns null when a value needs drizzle's builder (an SQL expression). */
export function compileInsert(
  table: AnyTable,
  rows: Attributes[],
  options: { arrays?: boolean } = {},
): InsertStatement | null {
  const all = Object.entries(getTableColumns(table)) as Array<[string, Column]>
  // Generated columns (GENERATED ALWAYS) take no value, as in drizzle's own inserts.
  const insertable = all.filter(
    ([, column]) => !(column as { shouldDisableInsert?(): boolean }).shouldDisableInsert?.(),
  )
  const { schema, name } = getTableConfig(table)
  const quoted = schema === undefined ? quote(name) : `${quote(schema)}.${quote(name)}`
  const clientDefaults = insertable.some(([, c]) => c.defaultFn !== undefined || c.onUpdateFn !== undefined)
  if (options.arrays && rows.length > 1 && !clientDefaults) {
    const unnest = compileUnnest(quoted, insertable, all, rows)
    if (unnest !== null) return unnest
  }
  const params: unknown[] = []
  const tuples: string[] = []
  for (const row of rows) {
    const values: string[] = []
    for (const [key, column] of insertable) {
      let value = row[key]
      if (value === undefined) {
        if (column.defaultFn !== undefined) value = column.defaultFn()
        else if (!column.default && column.onUpdateFn !== undefined) value = column.onUpdateFn()
        if (value === undefined) {
          values.push('default')
          continue
        }
      }
      if (isSqlValue(value)) return null
      params.push(value === null ? null : column.mapToDriverValue(value))
      values.push(`$${params.length}`)
    }
    tuples.push(`(${values.join(', ')})`)
  }
  const text =
    `insert into ${quoted} (${insertable.map(([, c]) => quote(c.name)).join(', ')}) values ${tuples.join(', ')} ` +
    `returning ${all.map(([, c]) => quote(c.name)).join(', ')}`
  return { text, params, columns: all, reusable: rows.length === 1 }
}

function mapRow(columns: Array<[string, Column]>, raw: Record<string, unknown>): Attributes {
  const row: Attributes = {}
  for (const [key, column] of columns) {
    const value = raw[column.name]
    row[key] = value === null || value === undefined ? value : column.mapFromDriverValue(value)
  }
  return row
}

/** drizzle's logger of this instance, so user logging sees factory inserts as any other query. */
function loggerOf(db: DrizzleDatabase): { logQuery(query: string, params: unknown[]): void } | undefined {
  return (db as unknown as { session?: { logger?: { logQuery(query: string, params: unknown[]): void } } }).session
    ?.logger
}

export async function executeInsert(
  db: DrizzleDatabase,
  raw: RawQuery,
  statement: InsertStatement,
): Promise<Attributes[]> {
  loggerOf(db)?.logQuery(statement.text, statement.params)
  const rows = await raw(statement.text, statement.params, { prepare: statement.reusable })
  return rows.map((row) => mapRow(statement.columns, row))
}
