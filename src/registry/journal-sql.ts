import { registryTable, type TagColumnSource } from './registry-sql.js'

/**
 * Wraps a factory's `INSERT … RETURNING` so that the same statement journals, in the run registry, the
 * key of every returned row that carries no tag, and records tag columns the insert revealed. One
 * statement: no crash can separate a row from its journal entry, and a list stays one round trip.
 */
export interface JournalTarget {
  /** The scope prefix the rows belong to. */
  prefix: string
  /** A row is tagged when one of `stringColumns` starts with this (the run prefix). */
  runPrefix: string
  runTag: string
  schema: string
  table: string
  /** Database names of the primary-key columns: the journaled key. */
  keyColumns: readonly string[]
  /** Database names of the columns that can carry the row's own tag (no foreign-key columns). */
  stringColumns: readonly string[]
  /** Tag columns of this table that the registry does not know yet. */
  newTagColumns: ReadonlyArray<{ column: string; source: TagColumnSource }>
  /** Whether any row may lack a tag (else no journal part is added). */
  journal: boolean
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`

/** The insert, extended with the registry writes it needs; unchanged when it needs none. */
export function withJournal(
  insert: { text: string; params: unknown[] },
  target: JournalTarget,
): { text: string; params: unknown[] } {
  const journal = target.journal && target.keyColumns.length > 0
  if (!journal && target.newTagColumns.length === 0) return insert
  const params = [...insert.params]
  const add = (value: unknown) => `$${params.push(value)}`
  const parts = [`ins as (${insert.text})`]
  if (journal) {
    const runPrefix = target.stringColumns.length > 0 ? `${add(target.runPrefix)}::text` : ''
    const tagged = target.stringColumns.map((c) => `coalesce(starts_with(ins.${q(c)}::text, ${runPrefix}), false)`)
    const key = target.keyColumns.map((c) => `'${c.replace(/'/g, "''")}', ins.${q(c)}::text`).join(', ')
    parts.push(
      `j as (insert into ${registryTable('untagged')} (prefix, table_schema, table_name, key) select ${add(target.prefix)}::text, ${add(target.schema)}::text, ${add(target.table)}::text, jsonb_build_object(${key}) from ins${tagged.length > 0 ? ` where not (${tagged.join(' or ')})` : ''})`,
    )
  }
  if (target.newTagColumns.length > 0) {
    const runTag = `${add(target.runTag)}::text`
    const schema = `${add(target.schema)}::text`
    const table = `${add(target.table)}::text`
    const values = target.newTagColumns.map(
      (c) => `(${runTag}, ${schema}, ${table}, ${add(c.column)}::text, ${add(c.source)}::text)`,
    )
    parts.push(
      `c as (insert into ${registryTable('tag_columns')} (run_tag, table_schema, table_name, column_name, source) values ${values.join(', ')} on conflict do nothing)`,
    )
  }
  return { text: `with ${parts.join(',\n')}\nselect * from ins`, params }
}
