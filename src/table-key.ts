import { ConfigError } from './errors.js'

/**
 * How leakless names a table in maps, reports, the ledger and the config: `schema.table`, each part
 * written as SQL would need it — bare when it is a plain lower-case name, else double-quoted with inner
 * quotes doubled. `public.users` stays `public.users`; `x."y.z"` and `"x.y".z` stay apart.
 */

const PLAIN = /^[a-z_][a-z0-9_$]*$/

const part = (name: string): string => (PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`)

/** The key of table `name` in `schema`: `public.users`, `x."y.z"`, `public."Users"`. */
export const tableKey = (schema: string, name: string): string => `${part(schema)}.${part(name)}`

/**
 * A table key as it resolves on connections whose `search_path` starts with `searchSchema` (isolation
 * 'schema'): a table of `public` — drizzle's tables declared without a schema — is the one in
 * `searchSchema`; other keys, and every key when `searchSchema` is null, stay as they are.
 */
export function inSearchSchema(key: string, searchSchema: string | null): string {
  if (searchSchema === null) return key
  const { schema, name } = parseTableKey(key)
  return schema === 'public' ? tableKey(searchSchema, name) : key
}

/** A table's schema and name. */
export interface TableName {
  schema: string
  name: string
}

/** One part of a key as written, from `at`: its text, whether it was quoted, and where it ends; null when malformed. */
function readPart(key: string, at: number): { text: string; quoted: boolean; end: number } | null {
  if (key[at] !== '"') {
    const dot = key.indexOf('.', at)
    const end = dot < 0 ? key.length : dot
    return end === at ? null : { text: key.slice(at, end), quoted: false, end }
  }
  let text = ''
  let i = at + 1
  for (; i < key.length; i++) {
    if (key[i] === '"' && key[i + 1] === '"') i++
    else if (key[i] === '"') break
    text += key[i]
  }
  // Unclosed, empty, or followed by something other than a dot.
  if (i >= key.length || text === '' || (i + 1 < key.length && key[i + 1] !== '.')) return null
  return { text, quoted: true, end: i + 1 }
}

const HOW =
  "Write it as schema.table, each part in double quotes when it holds a dot or starts with a double quote (inner quotes doubled): 'public.users', 'x.\"y.z\"', '\"x.y\".z'."

function invalid(key: string, why: string, fix = HOW): ConfigError {
  return new ConfigError('TABLE_KEY_INVALID', `Table key ${JSON.stringify(key)} ${why}. ${fix}`, { details: { key } })
}

/**
 * Schema and name of a table key. Reads what {@link tableKey} writes, and the forms people write by
 * hand: unquoted parts are taken as they are (`public.Users` is the table `Users`), and a key without a
 * schema is in `public`. A key whose dots could split it more than one way (`x.y.z`) is refused.
 */
export function parseTableKey(key: string): TableName {
  const parts: Array<{ text: string; quoted: boolean }> = []
  for (let at = 0; ;) {
    const read = readPart(key, at)
    if (read === null) throw invalid(key, 'is not a table name')
    parts.push(read)
    if (read.end === key.length) break
    at = read.end + 1
  }
  if (parts.length === 1) return { schema: 'public', name: parts[0]!.text }
  if (parts.length === 2) return { schema: parts[0]!.text, name: parts[1]!.text }
  if (parts.some((p) => p.quoted)) throw invalid(key, 'has more than two parts')
  const joined = (from: number, to: number) =>
    parts
      .slice(from, to)
      .map((p) => p.text)
      .join('.')
  const readings = parts.slice(1).map((_, i) => tableKey(joined(0, i + 1), joined(i + 1, parts.length)))
  throw invalid(key, `could name more than one table (${readings.join(' or ')})`)
}

/** The key as {@link tableKey} writes it, whichever way it was written. */
export const canonicalTableKey = (key: string): string => {
  const { schema, name } = parseTableKey(key)
  return tableKey(schema, name)
}

/** The schema of a table key. */
export const schemaOfKey = (key: string): string => parseTableKey(key).schema

/** Tag columns keyed by tables as people write them, keyed as {@link tableKey} writes them (two keys of one table merged). */
export function columnsByTableKey(
  record: Readonly<Record<string, readonly string[]>> | undefined,
): Record<string, string[]> | undefined {
  if (record === undefined) return undefined
  const out: Record<string, string[]> = {}
  for (const [key, columns] of Object.entries(record)) {
    const canonical = canonicalTableKey(key)
    out[canonical] = [...new Set([...(out[canonical] ?? []), ...columns])]
  }
  return out
}

/** Per-table rules keyed as {@link tableKey} writes them; two keys of one table with different rules are refused. */
export function rulesByTableKey<T extends string>(
  record: Readonly<Record<string, T>> | undefined,
): Record<string, T> | undefined {
  if (record === undefined) return undefined
  const out: Record<string, T> = {}
  for (const [key, rule] of Object.entries(record)) {
    const canonical = canonicalTableKey(key)
    if (out[canonical] !== undefined && out[canonical] !== rule) {
      throw invalid(
        key,
        `names table ${canonical} again, with another rule ("${rule}", not "${out[canonical]}")`,
        'Keep one key per table.',
      )
    }
    out[canonical] = rule
  }
  return out
}
