import { CleanupError } from '../errors.js'
import type { Database } from '../db/database.js'
import { assertSafeTarget, type GuardOptions } from '../db/guard.js'
import { cachedSchema, invalidateSchema } from '../db/introspect.js'
import type { SchemaGraph } from '../db/schema-graph.js'
import { q, qTable } from '../db/sql-text.js'
import { decodeId, type DecodedId } from '../ids/decode.js'
import { RUN_TAG_PATTERN } from '../ids/id-format.js'
import { listJournals, readJournal, removeJournal } from '../run/crash-journal.js'
import { defaultStateDir } from '../run/process-claim.js'
import { planCleanup, type NullableDependentRule } from './delete-plan.js'
import { cleanupPrefix, tagColumnsOf } from './execute.js'
import { isLeaseHeld } from './lease.js'

export interface SweepOptions {
  db: Database
  /** Only runs that started at least this long ago are swept. @default 3_600_000 (one hour) */
  olderThanMs?: number
  /** Count what would be deleted (SELECT only), delete nothing. @default false */
  dryRun?: boolean
  /** Table (`public.users`) → columns carrying tags, besides every table's text primary key. */
  tagColumns?: Readonly<Record<string, readonly string[]>>
  /** Schemas to scan; schemas of journaled tables are added. @default ['public'] */
  schemas?: string[]
  /** Where crash journals are (`<stateDir>/runs/<runTag>/*.journal`). @default `LEAKLESS_STATE_DIR`, else `<tmpdir>/leakless` */
  stateDir?: string
  /** Sweep only the processes of this run (e.g. `leakless sweep --run <tag>`). @default every run */
  runTag?: string
  /** Sweep only processes of this CI shard (`null`: processes without a shard). @default every shard */
  shard?: number | null
  /** Leave this run alone entirely (the current one); its processes are not reported. */
  exceptRunTag?: string
  /** The clock the age threshold is measured against. @default new Date() */
  now?: Date
  /** Called after each table is scanned for prefixes. */
  onProgress?: (done: number, total: number, table: string) => void
  /** Rows referencing swept rows through a nullable FK without a tag, per table. @default 'fail' for every table */
  nullableDependents?: Readonly<Record<string, NullableDependentRule>>
  guard?: GuardOptions
}

/** One dead process whose rows were deleted (or, in a dry run, would be). */
export interface SweptProcess {
  /** Process prefix `<runTag>-<process>-`. */
  prefix: string
  runTag: string
  shard: number | null
  worker: number
  pid: number
  /** When its run started (from the run tag). */
  startedAt: Date
  /** Rows per table (`public.users` → 3); tables with none are left out. */
  deleted: Record<string, number>
}

export interface SweepReport {
  swept: SweptProcess[]
  skipped: Array<{ prefix: string; reason: 'lease held' | 'too young' }>
  dryRun: boolean
  durationMs: number
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
// Run tag, then the process field: a process prefix of the id grammar (decodeId checks the rest).
const PROCESS_PREFIX_SQL = `'^([0-9a-z]{14}-[0-9a-z]+-)'`

/**
 * Removes what crashed or killed runs left behind: every process prefix found in tag columns or in a
 * crash journal is cleaned up with {@link cleanupPrefix} (journaled untagged rows included), unless its
 * run is younger than `olderThanMs` or its lease is held (see `acquireLease`).
 *
 * @example
 * const report = await sweep({ db, exceptRunTag: run.runTag })
 * for (const p of report.swept) console.log(p.prefix, p.deleted)
 */
export async function sweep(options: SweepOptions): Promise<SweepReport> {
  const started = performance.now()
  const { db } = options
  const dryRun = options.dryRun ?? false
  const olderThanMs = options.olderThanMs ?? 3_600_000
  if (!(olderThanMs >= 0)) throw new TypeError(`sweep(): olderThanMs must be a number >= 0, got ${olderThanMs}`)
  const cutoff = (options.now ?? new Date()).getTime() - olderThanMs
  const stateDir = options.stateDir ?? defaultStateDir()
  const wanted = (runTag: string) =>
    (options.runTag === undefined || runTag === options.runTag) && runTag !== options.exceptRunTag
  if (options.runTag !== undefined && !RUN_TAG_PATTERN.test(options.runTag)) {
    throw new TypeError(`sweep(): runTag must be a run tag (14 characters [0-9a-z]), got ${options.runTag}`)
  }
  if (!dryRun) await assertSafeTarget(db, options.guard)

  const journals = new Map<string, Map<string, Record<string, unknown>[]>>()
  for (const j of listJournals(stateDir)) {
    if (wanted(j.runTag)) journals.set(j.prefix, readJournal(stateDir, j.runTag, j.processField))
  }
  const journaledTables = new Set([...journals.values()].flatMap((keys) => [...keys.keys()]))
  const journaledSchemas = [...journaledTables].filter((t) => t.includes('.')).map((t) => t.slice(0, t.indexOf('.')))
  const schemas = [...new Set([...(options.schemas ?? ['public']), ...journaledSchemas])]
  let graph = await cachedSchema(db, { schemas })
  if ([...journaledTables].some((t) => !graph.tables.has(t))) {
    invalidateSchema(db) // made after the schema was cached, or dropped since (its rows went with it)
    graph = await cachedSchema(db, { schemas })
  }
  const tagColumns = tagColumnsOf(graph, options.tagColumns)

  const prefixes = new Set(journals.keys())
  for (const prefix of await scanPrefixes(db, graph, tagColumns, options.runTag, options.onProgress)) {
    prefixes.add(prefix)
  }

  const report: SweepReport = { swept: [], skipped: [], dryRun, durationMs: 0 }
  for (const prefix of [...prefixes].sort(byText)) {
    const decoded = decodeProcessPrefix(prefix)
    if (decoded === null || !wanted(decoded.runTag)) continue
    if (options.shard !== undefined && decoded.shard !== options.shard) continue
    if (decoded.time.getTime() > cutoff) {
      report.skipped.push({ prefix, reason: 'too young' })
      continue
    }
    if (await isLeaseHeld(db, prefix)) {
      report.skipped.push({ prefix, reason: 'lease held' })
      continue
    }
    const keys = new Map([...(journals.get(prefix) ?? [])].filter(([table]) => graph.tables.has(table)))
    const cleanupOptions = {
      keys,
      schemas,
      ...(options.tagColumns ? { tagColumns: options.tagColumns } : {}),
      ...(options.nullableDependents ? { nullableDependents: options.nullableDependents } : {}),
      ...(options.guard ? { guard: options.guard } : {}),
    }
    let deleted: Record<string, number>
    if (dryRun) {
      deleted = await countOwned(db, graph, prefix, tagColumns, keys, options.nullableDependents)
    } else {
      deleted = (await cleanupPrefix(db, prefix, cleanupOptions)).deleted
      removeJournal(stateDir, decoded.runTag, prefix.slice(decoded.runPrefix.length, -1))
    }
    report.swept.push({
      prefix,
      runTag: decoded.runTag,
      shard: decoded.shard,
      worker: decoded.worker,
      pid: decoded.pid,
      startedAt: decoded.time,
      deleted,
    })
  }
  report.durationMs = performance.now() - started
  return report
}

/** A process prefix decoded through the first id it could have issued; null when it is not one. */
function decodeProcessPrefix(prefix: string): DecodedId | null {
  const decoded = decodeId(`${prefix}0-10`)
  return decoded !== null && decoded.processPrefix === prefix ? decoded : null
}

async function scanPrefixes(
  db: Database,
  graph: SchemaGraph,
  tagColumns: ReadonlyMap<string, readonly string[]>,
  runTag: string | undefined,
  onProgress: SweepOptions['onProgress'],
): Promise<string[]> {
  const filter = runTag === undefined ? '^[0-9a-z]{14}-' : `^${runTag}-`
  const tables = [...tagColumns.keys()].sort(byText)
  const found: string[] = []
  for (const [i, name] of tables.entries()) {
    const table = graph.tables.get(name)
    if (table === undefined) {
      throw new CleanupError(
        'UNKNOWN_TABLE',
        `Sweep knows no table "${name}" in the database schema. Check the tag columns in the config (schema.table) and the schemas option.`,
        { details: { table: name } },
      )
    }
    const selects = tagColumns.get(name)!.map((column) => {
      const value = `t.${q(column)}::text`
      return `select substring(${value} from ${PROCESS_PREFIX_SQL}) as prefix from ${qTable(table)} as t where ${value} ~ $1`
    })
    const rows = await db.execute<{ prefix: string }>(
      `select distinct prefix from (${selects.join(' union all ')}) as s where prefix is not null`,
      [filter],
    )
    for (const row of rows) found.push(row.prefix)
    onProgress?.(i + 1, tables.length, name)
  }
  return found
}

/** What cleanupPrefix would delete per table, counted with one SELECT over the same delete plan. */
async function countOwned(
  db: Database,
  graph: SchemaGraph,
  prefix: string,
  tagColumns: ReadonlyMap<string, readonly string[]>,
  keys: ReadonlyMap<string, readonly Record<string, unknown>[]>,
  nullableDependents: SweepOptions['nullableDependents'],
): Promise<Record<string, number>> {
  const plan = planCleanup(graph, { prefix, tagColumns, keys }, nullableDependents ? { nullableDependents } : {})
  if (plan.tables.length === 0) return {}
  if (plan.count === null) {
    // Cycles: count by running the real cleanup in a transaction that is rolled back.
    const report = await cleanupPrefix(db, prefix, {
      keys,
      tagColumns: Object.fromEntries(tagColumns),
      dryRun: true,
      ...(nullableDependents ? { nullableDependents } : {}),
      schemas: [...new Set([...graph.tables.values()].map((t) => t.schema))],
    })
    return report.deleted
  }
  const rows = await db.execute<{ table: string; deleted: number }>(plan.count!.text, plan.count!.params)
  const out: Record<string, number> = {}
  for (const row of rows) if (Number(row.deleted) > 0) out[row.table] = Number(row.deleted)
  return out
}
