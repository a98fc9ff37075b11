/**
 * The registry's account of a run's processes: the short process numbers it hands out, and what it
 * keeps of a process once it closed (who it was, its tests' names).
 */
import type { Database } from '../db/database.js'
import { encodeRunTagTime, MAX_PROCESS_NUMBER, RUN_TAG_TIME_LENGTH } from '../ids/id-format.js'
import { ensureRegistry, REGISTRY_VERSION, registryVersion } from './registry.js'
import { registryTable } from './registry-sql.js'

/**
 * How long a run's process numbers are kept: a run tag older than this gets long process fields (no
 * number), so a number is never handed out twice however late a run tag is reused.
 */
export const PROCESS_NUMBER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000
// The sweep removes numbers a day later than they stop being handed out: clocks of machines may differ.
const PROCESS_NUMBER_PRUNE_MS = PROCESS_NUMBER_RETENTION_MS + 24 * 60 * 60 * 1000
/** How long the names of a closed process's tests are kept when its run never reached its teardown. */
export const CLOSED_PROCESS_RETENTION_MS = 7 * 24 * 60 * 60 * 1000

/**
 * The next process number of a run (1, 2, …), unique in this database for as long as the run's numbers
 * are kept; null when the run tag is too old for that, or the run used up the numbers.
 */
export async function allocateProcessNumber(db: Database, runTag: string, now = Date.now()): Promise<number | null> {
  if (runTag.slice(0, RUN_TAG_TIME_LENGTH) < encodeRunTagTime(now - PROCESS_NUMBER_RETENTION_MS)) return null
  await ensureRegistry(db)
  const [row] = await db.execute<{ last: number }>(
    `insert into ${registryTable('process_numbers')} as n (run_tag, last) values ($1, 1)
    on conflict (run_tag) do update set last = n.last + 1 where n.last < ${MAX_PROCESS_NUMBER} returning last`,
    [runTag],
  )
  return row === undefined ? null : Number(row.last)
}

/** A process that closed: who it was, whether its close left nothing behind, its tests by scope number. */
export interface ClosedProcess {
  prefix: string
  runTag: string
  shard: number | null
  worker: number
  pid: number
  clean: boolean
  /** Test names by scope number. */
  scopes: Record<number, string>
}

const MAX_NAME_LENGTH = 1000

/** What the registry knows about process prefixes: closed ones with their tests, live ones without. */
export async function describeProcesses(
  db: Database,
  prefixes: readonly string[],
): Promise<Map<string, ClosedProcess & { closed: boolean }>> {
  const out = new Map<string, ClosedProcess & { closed: boolean }>()
  if (prefixes.length === 0 || (await registryVersion(db)) !== REGISTRY_VERSION) return out
  const rows = await db.execute<{
    prefix: string
    run_tag: string
    shard: number | null
    worker: number
    pid: number
    clean: boolean | null
    scopes: string | null
  }>(
    `select prefix, run_tag, shard, worker, pid, clean, scopes::text from ${registryTable('closed_processes')} where prefix = any($1::text[])
    union all
    select prefix, run_tag, shard, worker, pid, null, null from ${registryTable('processes')} p
      where prefix = any($1::text[]) and not exists (select from ${registryTable('closed_processes')} c where c.prefix = p.prefix)`,
    [[...prefixes]],
  )
  for (const r of rows) {
    out.set(r.prefix, {
      prefix: r.prefix,
      runTag: r.run_tag,
      shard: r.shard,
      worker: r.worker,
      pid: r.pid,
      clean: r.clean === true,
      closed: r.clean !== null,
      scopes: r.scopes === null ? {} : (JSON.parse(r.scopes) as Record<number, string>),
    })
  }
  return out
}

/** Removes process numbers and closed-process records of runs past their retention; returns how many. */
export async function pruneRegistry(db: Database, now = Date.now()): Promise<number> {
  if ((await registryVersion(db)) !== REGISTRY_VERSION) return 0
  const [row] = await db.execute<{ n: number }>(
    `with a as (delete from ${registryTable('process_numbers')} where left(run_tag, ${RUN_TAG_TIME_LENGTH}) < $1 returning 1),
    b as (delete from ${registryTable('closed_processes')} where left(run_tag, ${RUN_TAG_TIME_LENGTH}) < $2 returning 1)
    select (select count(*) from a)::int + (select count(*) from b)::int as n`,
    [encodeRunTagTime(now - PROCESS_NUMBER_PRUNE_MS), encodeRunTagTime(now - CLOSED_PROCESS_RETENTION_MS)],
  )
  return Number(row?.n ?? 0)
}

/**
 * Marks a process closed (its cleanup ran, nothing of it is journaled any more) and records it with its
 * tests' names, so that rows written after its close are reported with their test.
 */
export async function closeProcess(db: Database, p: ClosedProcess): Promise<void> {
  const scopes = Object.fromEntries(Object.entries(p.scopes).map(([n, name]) => [n, name.slice(0, MAX_NAME_LENGTH)]))
  await db.execute(
    `with c as (update ${registryTable('processes')} set closed_at = now() where prefix = $1)
    insert into ${registryTable('closed_processes')} (prefix, run_tag, shard, worker, pid, clean, scopes) values ($1, $2, $3, $4, $5, $6, $7::jsonb)
    on conflict (prefix) do update set clean = excluded.clean, scopes = excluded.scopes, closed_at = now()`,
    [p.prefix, p.runTag, p.shard, p.worker, p.pid, p.clean, JSON.stringify(scopes)],
  )
}

/**
 * VACUUM (ANALYZE) of the registry's tables: their rows come and go with every test (journaled keys,
 * processes), and on a server without autovacuum the dead ones pile up under the statements every
 * cleanup runs (measured here: 640 000 dead journal rows made each cleanup take seconds). Housekeeping
 * after a sweep; a refusal (not the owner, say) is ignored.
 */
export async function vacuumRegistry(db: Database): Promise<boolean> {
  const tables = (['untagged', 'processes', 'runs', 'tag_columns', 'closed_processes', 'process_numbers'] as const)
    .map((t) => registryTable(t))
    .join(', ')
  try {
    await db.execute(`vacuum (analyze) ${tables}`)
    return true
  } catch {
    return false
  }
}
