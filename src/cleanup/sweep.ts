import { CleanupError, isLeaklessError } from '../errors.js'
import { sqlStateOf } from '../driver-error.js'
import { describeBlockers, tableLockHolders } from './blockers.js'
import type { Database } from '../db/database.js'
import { databaseOf } from '../db/database-input.js'
import { assertSafeTarget } from '../db/guard.js'
import { cachedSchema, invalidateSchema } from '../db/introspect.js'
import { checkOptions, type SweepOptions, type SweepReport } from './sweep-options.js'
import type { SchemaGraph } from '../db/schema-graph.js'
import { q, qTable } from '../db/sql-text.js'
import { decodeId, type DecodedId } from '../ids/decode.js'
import { likePrefix } from '../ids/sql-prefix.js'
import {
  forgetProcess,
  forgetRunIfDone,
  readRuns,
  recordTagColumns,
  untaggedTables,
  type RegisteredRun,
} from '../registry/registry.js'
import { pruneRegistry, vacuumRegistry } from '../registry/processes.js'
import { planCleanup } from './delete-plan.js'
import { discoverTagColumns } from './discover.js'
import { cleanupPrefix, tagColumnsOf } from './execute.js'
import { isLeaseHeld } from './lease.js'
import { sweepCreatedResources } from './sweep-schemas.js'
import { columnsByTableKey, rulesByTableKey, schemaOfKey } from '../table-key.js'

export type { SweepOptions, SweptProcess, SweepReport } from './sweep-options.js'

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
// Run tag, then the process field: a process prefix of the id grammar (decodeId checks the rest).
const PROCESS_PREFIX_SQL = `'^([0-9a-z]{14}-[0-9a-z]+-)'`

/**
 * Removes what crashed or killed runs left behind. The run registry in the database says which runs and
 * processes there were, which columns carried their tags and which untagged rows their factories made,
 * so a sweep on any machine finds them: each process whose lease is free and whose run is older than
 * `olderThanMs` is cleaned up with {@link cleanupPrefix} (journaled untagged rows included), and runs
 * with nothing left are removed from the registry.
 *
 * @example
 * const report = await sweep({ db, exceptRunTag: run.runTag })
 * for (const p of report.swept) console.log(p.prefix, p.deleted)
 */
export async function sweep(input: SweepOptions): Promise<SweepReport> {
  const olderThanMs = checkOptions(input)
  const options = { ...input, db: await databaseOf(input.db, 'sweep()') }
  try {
    return await sweepChecked(options, olderThanMs)
  } catch (error) {
    throw await sweepFailure(error, options.db)
  }
}

/** Every failure of a sweep as a LeaklessError; a lock timeout names the sessions holding table locks. */
async function sweepFailure(error: unknown, db: Database): Promise<unknown> {
  if (isLeaklessError(error)) return error
  const reason = error instanceof Error ? error.message : String(error)
  if (sqlStateOf(error) === '55P03') {
    const blockers = await tableLockHolders(db, null)
    return new CleanupError(
      'CLEANUP_LOCK_TIMEOUT',
      `The sweep waited too long for a table lock another session holds (${reason}); what it swept before stays swept, the rest is untouched (each process's cleanup is one transaction). ${describeBlockers(blockers)}, then sweep again.`,
      { cause: error, details: { blockers } },
    )
  }
  return new CleanupError(
    'CLEANUP_FAILED',
    `The sweep failed: ${reason}. What it swept before stays swept, the rest is untouched (each process's cleanup is one transaction); sweep again.`,
    { cause: error, details: { sqlState: sqlStateOf(error) ?? null } },
  )
}

async function sweepChecked(options: SweepOptions & { db: Database }, olderThanMs: number): Promise<SweepReport> {
  const started = performance.now()
  const { db } = options
  const dryRun = options.dryRun ?? false
  const cutoff = (options.now ?? new Date()).getTime() - olderThanMs
  const wanted = (runTag: string) =>
    (options.runTag === undefined || runTag === options.runTag) && runTag !== options.exceptRunTag
  if (!dryRun) await assertSafeTarget(db, options.guard)
  // After the guard: only schemas the registry records, of dead owners (sweep-schemas.ts); first, so
  // that the tables introspected below are those that remain.
  const { schemas, databases, templates } = await sweepCreatedResources(db, {
    cutoff,
    dryRun,
    wanted,
    templates: options.runTag === undefined && options.shard === undefined,
    ...(options.shard === undefined ? {} : { shard: options.shard }),
  })
  if (schemas.length > 0 && !dryRun) invalidateSchema(db)
  const declared = columnsByTableKey(options.tagColumns) ?? {}
  const nullableDependents = rulesByTableKey(options.nullableDependents)

  const runs = (await readRuns(db, options.runTag)).filter((run) => wanted(run.runTag))
  const byRun = new Map(runs.map((run) => [run.runTag, run]))
  const inspected = [
    ...new Set([
      ...(options.schemas ?? ['public']),
      ...runs.flatMap((run) => [...Object.keys(run.tagColumns), ...Object.keys(run.untagged)]).map(schemaOfKey),
    ]),
  ]
  const graph = await cachedSchema(db, { schemas: inspected })

  const prefixes = new Set<string>()
  for (const run of runs) {
    for (const p of run.processes) if (p.closedAt === null) prefixes.add(p.prefix)
    if (run.processes.every((p) => p.closedAt !== null) && Object.keys(run.untagged).length === 0) {
      // Everything closed: only rows written after a close can be left; they carry the run's tags.
      if (runIsOld(run.runTag, cutoff)) {
        const columns = tagColumnsOf(graph, known(graph, declared, run))
        for (const prefix of await scanPrefixes(db, graph, columns, `${run.runTag}-`, options.onProgress))
          prefixes.add(prefix)
      }
    }
  }
  if (options.scan === true) {
    for (const prefix of await scanPrefixes(
      db,
      graph,
      tagColumnsOf(graph, pick(graph, declared)),
      null,
      options.onProgress,
    ))
      prefixes.add(prefix)
  }

  const report: SweepReport = {
    swept: [],
    schemas,
    databases,
    templates,
    skipped: [],
    forgotten: [],
    dryRun,
    durationMs: 0,
  }
  const held = new Set<string>()
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
      held.add(decoded.runTag)
      continue
    }
    const run = byRun.get(decoded.runTag)
    const columns = known(graph, declared, run)
    // Columns the dead process's app filled that nobody recorded (cheap ones: small tables, prefix indexes).
    const found = await discoverTagColumns(db, graph, tagColumnsOf(graph, columns), prefix)
    for (const c of found) (columns[c.table] ??= []).push(c.column)
    if (found.length > 0 && run !== undefined && !dryRun) {
      await recordTagColumns(
        db,
        run.runTag,
        found.map((c) => ({ ...c, source: 'discovered' as const })),
      )
    }
    const registryKeys = new Set((await untaggedTables(db, prefix)).filter((t) => graph.tables.has(t)))
    const deleted = dryRun
      ? await countOwned(db, graph, prefix, columns, registryKeys, nullableDependents)
      : (
          await cleanupPrefix(db, prefix, {
            learntTagColumns: columns,
            registryKeys,
            journal: true,
            schemas: inspected,
            ...(nullableDependents ? { nullableDependents } : {}),
            ...(options.guard ? { guard: options.guard } : {}),
          })
        ).deleted
    if (!dryRun) await forgetProcess(db, prefix)
    const registered = run?.processes.find((p) => p.prefix === prefix)
    report.swept.push({
      prefix,
      runTag: decoded.runTag,
      shard: decoded.shard,
      process: decoded.process,
      worker: decoded.worker ?? registered?.worker ?? null,
      pid: decoded.pid ?? registered?.pid ?? null,
      startedAt: decoded.time,
      deleted,
    })
  }
  if (!dryRun && options.forget !== false) {
    for (const run of runs) {
      if (held.has(run.runTag) || !runIsOld(run.runTag, cutoff)) continue
      if (await forgetRunIfDone(db, run.runTag, { final: true })) report.forgotten.push(run.runTag)
    }
    // Process numbers and closed-process records of runs long gone; then the registry's dead rows.
    await pruneRegistry(db, options.now?.getTime())
    await vacuumRegistry(db)
  }
  report.durationMs = performance.now() - started
  return report
}

const runIsOld = (runTag: string, cutoff: number) => decodeId(`${runTag}-w0p1x000000-0-10`)!.time.getTime() <= cutoff

/** Tag columns of a run: declared, and what the registry recorded (where the table still has them). */
function known(
  graph: SchemaGraph,
  declared: Readonly<Record<string, readonly string[]>>,
  run: RegisteredRun | undefined,
): Record<string, string[]> {
  const out = pick(graph, declared)
  for (const [table, columns] of Object.entries(run?.tagColumns ?? {})) {
    const t = graph.tables.get(table)
    if (t === undefined) continue
    const into = (out[table] ??= [])
    for (const c of columns) if (!into.includes(c) && t.columns.some((col) => col.name === c)) into.push(c)
  }
  return out
}

// Declared tables must exist: an unknown one is a configuration error, not a reason to sweep nothing.
function pick(graph: SchemaGraph, declared: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [table, columns] of Object.entries(declared)) {
    if (!graph.tables.has(table)) {
      throw new CleanupError(
        'UNKNOWN_TABLE',
        `Sweep knows no table "${table}" in the database schema. Check the tag columns in the config (schema.table) and the schemas option.`,
        { details: { table } },
      )
    }
    out[table] = [...columns]
  }
  return out
}

/** A process prefix decoded through the first id it could have issued; null when it is not one. */
function decodeProcessPrefix(prefix: string): DecodedId | null {
  const decoded = decodeId(`${prefix}0-10`)
  return decoded !== null && decoded.processPrefix === prefix ? decoded : null
}

/** Process prefixes found in tag columns: of one run (`runPrefix`, through prefix indexes), or of any run. */
async function scanPrefixes(
  db: Database,
  graph: SchemaGraph,
  tagColumns: ReadonlyMap<string, readonly string[]>,
  runPrefix: string | null,
  onProgress: SweepOptions['onProgress'],
): Promise<string[]> {
  const tables = [...tagColumns.keys()].filter((name) => graph.tables.has(name)).sort(byText)
  const found: string[] = []
  for (const [i, name] of tables.entries()) {
    const table = graph.tables.get(name)!
    const selects = tagColumns.get(name)!.map((column) => {
      const value = `t.${q(column)}::text`
      const where = runPrefix === null ? `${value} ~ '^[0-9a-z]{14}-'` : `t.${q(column)} like $1 escape '\\'`
      return `select substring(${value} from ${PROCESS_PREFIX_SQL}) as prefix from ${qTable(table)} as t where ${where}`
    })
    const rows = await db.execute<{ prefix: string }>(
      `select distinct prefix from (${selects.join(' union all ')}) as s where prefix is not null`,
      runPrefix === null ? [] : [likePrefix(runPrefix)],
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
  columns: Record<string, string[]>,
  registryKeys: ReadonlySet<string>,
  nullableDependents: SweepOptions['nullableDependents'],
): Promise<Record<string, number>> {
  const tagColumns = tagColumnsOf(graph, columns)
  const plan = planCleanup(
    graph,
    { prefix, tagColumns, keys: new Map(), registryKeys },
    nullableDependents ? { nullableDependents } : {},
  )
  if (plan.tables.length === 0) return {}
  if (plan.count === null) {
    // Cycles: count by running the real cleanup in a transaction that is rolled back.
    const report = await cleanupPrefix(db, prefix, {
      learntTagColumns: columns,
      registryKeys,
      dryRun: true,
      ...(nullableDependents ? { nullableDependents } : {}),
      schemas: [...new Set([...graph.tables.values()].map((t) => t.schema))],
    })
    return report.deleted
  }
  const rows = await db.execute<{ table: string; deleted: number }>(plan.count.text, plan.count.params)
  const out: Record<string, number> = {}
  for (const row of rows) if (Number(row.deleted) > 0) out[row.table] = Number(row.deleted)
  return out
}
