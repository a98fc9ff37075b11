import type { Database } from '../db/database.js'
import type { SchemaGraph, TableSchema } from '../db/schema-graph.js'
import { literal, q, qTable } from '../db/sql-text.js'
import { likePrefix } from '../ids/sql-prefix.js'

/** Tables up to this size are scanned whole by discovery (about 10 000 short rows; a scan takes well under 1 ms). */
export const SMALL_TABLE_BYTES = 2 * 1024 * 1024

/** A text column found holding a value that starts with an owned prefix. */
export interface DiscoveredColumn {
  /** `schema.table` */
  table: string
  column: string
}

/**
 * The discovery query: text columns not yet known to carry tags (and not foreign keys), in tables
 * small enough to scan or through an index that serves `LIKE 'prefix%'`. Columns of big tables without
 * such an index are left to the deep audit. Null when there is nothing to look at.
 */
export function discoveryQuery(
  graph: SchemaGraph,
  known: ReadonlyMap<string, readonly string[]>,
  prefix: string,
): { text: string; params: unknown[] } | null {
  const parts: string[] = []
  for (const table of graph.tables.values()) {
    const fkColumns = new Set(graph.foreignKeys.filter((fk) => fk.table === table.name).flatMap((fk) => fk.columns))
    const skip = new Set(known.get(table.name) ?? [])
    const candidates = table.columns.filter((c) => c.textual && !fkColumns.has(c.name) && !skip.has(c.name))
    if (candidates.length === 0) continue
    if (isSmall(table)) {
      const like = (c: string) => `s.${q(c)} like $1 escape '\\'`
      const names = candidates.map((c) => `case when bool_or(${like(c.name)}) then ${literal(c.name)} end`)
      parts.push(
        `select ${literal(table.name)} as "table", unnest(array[${names.join(', ')}]) as "column" from ${qTable(table)} as s where ${candidates.map((c) => like(c.name)).join(' or ')}`,
      )
      continue
    }
    for (const column of candidates.filter((c) => c.prefixIndexed === true)) {
      parts.push(
        `select ${literal(table.name)} as "table", ${literal(column.name)} as "column" where exists (select from ${qTable(table)} as s where s.${q(column.name)} like $1 escape '\\')`,
      )
    }
  }
  if (parts.length === 0) return null
  return {
    text: `select "table", "column" from (${parts.join(' union all ')}) as found where "column" is not null`,
    params: [likePrefix(prefix)],
  }
}

const isSmall = (table: TableSchema) => table.bytes !== undefined && table.bytes <= SMALL_TABLE_BYTES

/**
 * Finds text columns that hold values starting with `prefix` although nobody declared them and no
 * factory filled them: what the app under test wrote from tagged input (`teams.name = '<e-mail>'s Team'`).
 *
 * @example
 * const found = await discoverTagColumns(db, graph, tagColumnsOf(graph), scope.prefix)
 */
export async function discoverTagColumns(
  db: Database,
  graph: SchemaGraph,
  known: ReadonlyMap<string, readonly string[]>,
  prefix: string,
): Promise<DiscoveredColumn[]> {
  const query = discoveryQuery(graph, known, prefix)
  if (query === null) return []
  const rows = await db.execute<{ table: string; column: string }>(query.text, query.params)
  return rows.map((row) => ({ table: row.table, column: row.column }))
}
