import { tagColumnsOf } from '../cleanup/execute.js'
import { graphCovering } from '../db/introspect.js'
import type { ForeignKey, SchemaGraph } from '../db/schema-graph.js'
import { describeValue } from '../describe-value.js'
import { ConfigError, InputError } from '../errors.js'
import { decodeId, type DecodedId } from '../ids/decode.js'
import { RUN_TAG_LENGTH, RUN_TAG_PATTERN, SCOPE_PREFIX_PATTERN } from '../ids/id-format.js'
import { discoverTagColumns } from '../cleanup/discover.js'
import { registrySeeds } from '../registry/registry.js'
import { assertOwnedPrefix, likePrefix } from '../ids/sql-prefix.js'
import type { LedgerEntry } from '../run/ledger.js'
import { columnsByTableKey } from '../table-key.js'
import { LedgerIndex, ownedEntries } from './attribution.js'
import { attributeFromRegistry } from './registry-attribution.js'
import { buildAuditQueries, combineAuditQueries } from './audit-sql.js'
import { databaseOf } from '../db/database-input.js'
import type { AuditOptions, AuditReport, LeakRow } from './types.js'

interface ResultRow extends Record<string, unknown> {
  q: number
  row: string
  column: string | null
  deep_column: string | null
  keyed: boolean
  via: string | null
  journal?: string | null
}

/**
 * Finds every row still owned by a prefix: rows whose tag columns start with it, ledger rows still
 * present, rows that cannot exist without those (foreign-key dependents), and with `deep` any text
 * value starting with it. Read-only; names the test and `file:line` behind each row the ledger knows.
 *
 * @example
 * const report = await audit({ db, prefix: scope.prefix, ledger: scope.ledger.entries })
 * if (!report.clean) throw leakError(report)
 */
export async function audit(input: AuditOptions): Promise<AuditReport> {
  const prefix = resolvePrefix(input)
  const options = { ...input, db: await databaseOf(input.db, 'audit()') }
  const started = performance.now()
  const now = options.now ?? new Date()
  const limit = Math.max(1, Math.floor(options.limit ?? 1000))
  const fullLedger = options.ledger ?? []
  const ledger = ownedEntries(fullLedger, prefix)
  const declared = columnsByTableKey(options.tagColumns) ?? {}
  const registry =
    options.registry === false
      ? { exists: false, tagColumns: {}, untaggedTables: [] }
      : await registrySeeds(options.db, prefix.slice(0, RUN_TAG_LENGTH), prefix)
  const learnt = { ...registry.tagColumns }
  for (const [table, columns] of Object.entries(columnsByTableKey(options.learntTagColumns) ?? {})) {
    learnt[table] = [...new Set([...(learnt[table] ?? []), ...columns])]
  }
  const named = new Set([
    ...fullLedger.map((e) => e.table),
    ...Object.keys(declared),
    ...Object.keys(learnt),
    ...registry.untaggedTables,
  ])
  const graph = await graphCovering(options.db, options.schemas, named)
  const merged = mergeTagColumns(graph, declared, fullLedger)
  for (const [table, columns] of Object.entries(learnt)) {
    const t = graph.tables.get(table)
    if (t === undefined) continue
    const into = (merged[table] ??= [])
    for (const c of columns) if (!into.includes(c) && t.columns.some((col) => col.name === c)) into.push(c)
  }
  // Columns the app filled from tagged input that nobody named (cheap ones; `deep` scans them all).
  if (!options.deep && options.discover !== false) {
    for (const found of await discoverTagColumns(options.db, graph, tagColumnsOf(graph, merged), prefix)) {
      ;(merged[found.table] ??= []).push(found.column)
    }
  }
  const keys = new Map<string, Record<string, unknown>[]>()
  for (const entry of ledger) {
    if (graph.tables.has(entry.table) && Object.keys(entry.key).length > 0) {
      keys.set(entry.table, [...(keys.get(entry.table) ?? []), entry.key])
    }
  }
  const registryKeys = new Set(registry.untaggedTables.filter((t) => graph.tables.has(t)))
  const find = async (tagColumns: Map<string, string[]>) => {
    const built = buildAuditQueries(
      graph,
      { tagColumns, keys, registryKeys },
      { pattern: likePrefix(prefix), deep: options.deep ?? false, limit },
    )
    const { queries } = built
    const results = queries.map((): ResultRow[] => [])
    if (queries.length === 0) return { queries, results }
    const statement = combineAuditQueries(built)
    for (const row of await options.db.execute<ResultRow>(statement.text, statement.params)) {
      results[Number(row.q)]!.push(row)
    }
    return { queries, results }
  }
  let tagColumns = tagColumnsOf(graph, merged)
  let found = await find(tagColumns)
  // A column only the deep scan found is a tag column too: searched again, the rows that depend on its rows count.
  const deepHits = found.results.flatMap((rows, i) =>
    rows.flatMap((r) =>
      r.column === null && !r.keyed && r.via === null && r.deep_column !== null
        ? [[found.queries[i]!.table.name, r.deep_column]]
        : [],
    ),
  )
  if (deepHits.length > 0) {
    for (const [table, column] of deepHits) {
      const into = (merged[table!] ??= [])
      if (!into.includes(column!)) into.push(column!)
    }
    tagColumns = tagColumnsOf(graph, merged)
    found = await find(tagColumns)
  }
  const { queries, results } = found

  const index = new LedgerIndex(ledger)
  const rows: LeakRow[] = []
  const tables: Record<string, number> = {}
  const truncated: string[] = []
  // Origins of reported rows by table and key: a dependent without a tag of its own inherits its
  // parent's (tables come parents first), whatever the type of the key it references.
  const origins = new Map<string, string>()
  const rowKey = (table: string, key: Record<string, unknown>) => JSON.stringify([table, key])
  queries.forEach((query, i) => {
    const found = results[i]!
    if (found.length === 0) return
    const { name, primaryKey } = query.table
    if (found.length > limit) truncated.push(name)
    tables[name] = Math.min(found.length, limit)
    for (const result of found.slice(0, limit)) {
      const row = JSON.parse(result.row) as Record<string, unknown>
      const key = primaryKey.length > 0 ? Object.fromEntries(primaryKey.map((c) => [c, row[c]])) : row
      const keyed = result.keyed === true
      const via = result.column === null && !keyed ? result.via : null
      const column = result.column ?? (keyed || via !== null ? null : result.deep_column)
      const tag = column === null ? null : String(row[column])
      const entry = index.byKey(name, key)
      const fk = via === null ? undefined : query.owners.get(via)
      const parent = fk === undefined ? null : referenced(row, fk, prefix)
      const inherited =
        fk === undefined
          ? undefined
          : origins.get(rowKey(fk.refTable, Object.fromEntries(fk.refColumns.map((c, k) => [c, row[fk.columns[k]!]]))))
      // A journaled untagged row: the scope prefix it was journaled under, as the first id it could hold.
      const journaled = typeof result.journal === 'string' ? `${result.journal}10` : null
      const origin = tag ?? entry?.tag ?? journaled ?? parent?.value ?? inherited ?? null
      if (origin !== null) origins.set(rowKey(name, key), origin)
      const provenance = origin === null ? null : decodeId(origin)
      const scopePrefix =
        provenance?.scopePrefix ?? (origin === null ? undefined : SCOPE_PREFIX_PATTERN.exec(origin)?.[0])
      // Only the row's own ledger entry says where it was made: another row's line would point at the wrong code.
      const test =
        entry?.test ??
        (parent === null ? undefined : index.byKey(parent.table, parent.key)?.test) ??
        (scopePrefix === undefined
          ? undefined
          : (options.scopeNames?.get(scopePrefix) ?? index.byScope(scopePrefix)?.test))
      rows.push({
        table: name,
        key,
        column,
        tag,
        via,
        provenance,
        test: test ?? null,
        caller: entry?.caller ?? null,
        factory:
          entry !== undefined || journaled !== null ? true : ledgerCovers(options, prefix, provenance) ? false : null,
        ageMs: ageOf(now, entry, provenance?.time),
      })
    }
  })
  const attributed = registry.exists && rows.length > 0 ? await attributeFromRegistry(options.db, rows) : rows
  return {
    prefix,
    clean: rows.length === 0,
    rows: attributed,
    tables,
    truncated,
    durationMs: performance.now() - started,
  }
}

function resolvePrefix(options: AuditOptions): string {
  const { prefix, runTag } = options
  if (prefix !== undefined) {
    assertOwnedPrefix(prefix)
    if (runTag !== undefined && (typeof runTag !== 'string' || !prefix.startsWith(`${runTag}-`))) {
      throw new InputError(
        'PREFIX_INVALID',
        `audit() got prefix ${describeValue(prefix)} and runTag ${describeValue(runTag)}, which disagree. Pass one of them.`,
        { details: { prefix, runTag } },
      )
    }
    return prefix
  }
  if (runTag !== undefined) {
    if (typeof runTag !== 'string' || !RUN_TAG_PATTERN.test(runTag)) {
      throw new InputError(
        'PREFIX_INVALID',
        `Refusing run tag ${describeValue(runTag)}: a run tag is 14 base36 characters (run.runTag, LEAKLESS_RUN, or decodeId(value).runTag).`,
        { details: { runTag } },
      )
    }
    return assertOwnedPrefix(`${runTag}-`)
  }
  throw new InputError(
    'PREFIX_INVALID',
    'audit() needs a prefix (run.prefix, scope.prefix) or a runTag (run.runTag) to know which rows to look for.',
    { details: {} },
  )
}

// Declared tag columns must exist; the ledger's are taken where the table still has them.
function mergeTagColumns(
  graph: SchemaGraph,
  declared: Readonly<Record<string, readonly string[]>>,
  ledger: readonly LedgerEntry[],
): Record<string, string[]> {
  const merged: Record<string, string[]> = {}
  for (const [name, columns] of Object.entries(declared)) {
    const table = graph.tables.get(name)
    if (table === undefined) {
      throw new ConfigError(
        'UNKNOWN_TABLE',
        `The audit knows no table "${name}" in the database schema. Check the table name in tagColumns (schema.table) and that migrations ran.`,
        { details: { table: name } },
      )
    }
    for (const column of columns) {
      if (!table.columns.some((c) => c.name === column)) {
        throw new ConfigError(
          'UNKNOWN_TAG_COLUMN',
          `Table ${name} has no column "${column}" to carry tags. Fix tagColumns in the config.`,
          { details: { table: name, column } },
        )
      }
    }
    merged[name] = [...columns]
  }
  for (const entry of ledger) {
    const table = graph.tables.get(entry.table)
    if (table === undefined) continue
    const columns = (merged[entry.table] ??= [])
    for (const column of entry.tagColumns) {
      if (!columns.includes(column) && table.columns.some((c) => c.name === column)) columns.push(column)
    }
  }
  return merged
}

// The ledger lists every row its process made through factories: given the ledger and a prefix of that
// process (or one of its scopes), a row of it the ledger does not list was written outside a factory.
function ledgerCovers(options: AuditOptions, prefix: string, provenance: DecodedId | null): boolean {
  return options.ledger !== undefined && provenance !== null && prefix.startsWith(provenance.processPrefix)
}

// A dependent carries no tag of its own; the key it references usually does.
function referenced(
  row: Record<string, unknown>,
  fk: ForeignKey,
  prefix: string,
): { table: string; key: Record<string, unknown>; value: string } | null {
  const value = fk.columns.map((c) => row[c]).find((v) => typeof v === 'string' && v.startsWith(prefix))
  if (typeof value !== 'string') return null
  return { table: fk.refTable, key: Object.fromEntries(fk.refColumns.map((c, i) => [c, row[fk.columns[i]!]])), value }
}

function ageOf(now: Date, entry: LedgerEntry | undefined, runStarted: Date | undefined): number | null {
  if (entry !== undefined) return now.getTime() - entry.at.getTime()
  return runStarted === undefined ? null : now.getTime() - runStarted.getTime()
}

/** The report of the rows `keep` accepts, with its per-table counts and `clean` to match. */
export function narrowReport(report: AuditReport, keep: (row: LeakRow) => boolean): AuditReport {
  const rows = report.rows.filter(keep)
  const tables: Record<string, number> = {}
  for (const row of rows) tables[row.table] = (tables[row.table] ?? 0) + 1
  return { ...report, rows, tables, clean: rows.length === 0 }
}
