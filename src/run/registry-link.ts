/**
 * What a run's factories need from the run registry in the database (attached by the public
 * `createRun` when the registry could be written): the tag columns it already knows for the run.
 * Factories journal untagged keys and new tag columns in the statement of their insert.
 */
export interface RegistryLink {
  /** `schema.table` → database columns the registry knows carry this run's tags. */
  readonly known: Map<string, Set<string>>
}

/** Adds a column to what the link knows; true when it was new. */
export function learnColumn(link: RegistryLink, table: string, column: string): boolean {
  let columns = link.known.get(table)
  if (columns === undefined) link.known.set(table, (columns = new Set()))
  if (columns.has(column)) return false
  columns.add(column)
  return true
}
