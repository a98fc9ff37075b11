import { hostname } from 'node:os'
import { ConnectionError } from '../errors.js'
import { sqlStateOf } from '../driver-error.js'
import type { Database } from '../db/database.js'
import { decodeId } from '../ids/decode.js'
import { likePrefix } from '../ids/sql-prefix.js'
import { workerSchemaName } from '../db/worker-schema.js'
import { parseTableKey, tableKey } from '../table-key.js'
import {
  ADVISORY_NAMESPACE,
  CREATE_REGISTRY_SQL,
  DROP_REGISTRY_SQL,
  REGISTRY_SCHEMA,
  REGISTRY_VERSION,
  registryTable,
  VERSION_SQL,
  EXISTS_SQL,
  MIGRATE_SQL,
  type TagColumnSource,
} from './registry-sql.js'

/** A tag column as the registry keeps it. */
export interface RegisteredColumn {
  /** Table key (`public.users`, `x."y.z"`): schema and name are stored apart. */
  table: string
  column: string
  source: TagColumnSource
}

/** A process (run context) of a run, as it registered itself. */
export interface RegisteredProcess {
  /** `<runTag>-<process>-` */
  prefix: string
  runTag: string
  shard: number | null
  worker: number
  pid: number
  host: string | null
  startedAt: Date
  /** Set when `run.close()` finished its cleanup; null while it lives, or when it died. */
  closedAt: Date | null
}

/** What the registry knows about one run. */
export interface RegisteredRun {
  runTag: string
  startedAt: Date
  registeredAt: Date
  host: string | null
  ci: Record<string, string> | null
  processes: RegisteredProcess[]
  /** Table key (`public.users`) → columns that carried the run's tags (declared, from factories, inserts or discovery). */
  tagColumns: Record<string, string[]>
  /** Table key (`public.users`) → how many untagged rows of the run's factories are journaled by key. */
  untagged: Record<string, number>
}

// Serialises the creation of the registry between processes ('lkls', then the name).
const CREATE_LOCK = `select pg_advisory_xact_lock(${ADVISORY_NAMESPACE}, hashtext('${REGISTRY_SCHEMA}.registry'))`
// Serialises a run's registration and its removal, so a process never registers into a run being forgotten.
const RUN_LOCK = `select pg_advisory_xact_lock(${ADVISORY_NAMESPACE}, hashtext('${REGISTRY_SCHEMA}.run.' || $1::text))`

const ready = new WeakMap<Database, Promise<void>>()

/** The registry's version in this database, or null when it has none. */
export async function registryVersion(db: Database): Promise<number | null> {
  const [exists] = await db.execute<{ exists: boolean }>(EXISTS_SQL)
  if (exists?.exists !== true) return null
  const [row] = await db.execute<{ version: string }>(VERSION_SQL)
  return row === undefined ? null : Number(row.version)
}

/**
 * Creates the registry (schema `leakless`) when it is missing, once per `db`; refuses a registry written
 * by a newer leakless. Callers run the safety guard first: the registry is only written where
 * destructive SQL is allowed.
 */
export function ensureRegistry(db: Database): Promise<void> {
  let promise = ready.get(db)
  if (promise === undefined) {
    promise = create(db)
    ready.set(db, promise)
    promise.catch(() => ready.get(db) === promise && ready.delete(db))
  }
  return promise
}

async function create(db: Database): Promise<void> {
  let version = await registryVersion(db)
  if (version === null) {
    try {
      await db.transaction(async (run) => {
        await run(CREATE_LOCK)
        for (const statement of CREATE_REGISTRY_SQL) await run(statement)
      })
    } catch (cause) {
      throw new ConnectionError(
        'REGISTRY_UNAVAILABLE',
        `leakless could not create its run registry (schema "${REGISTRY_SCHEMA}") in this database: ${(cause as Error).message}. The registry is how the audit and the sweep find a run's rows from any machine. Grant the test user CREATE on the database (or create the schema "${REGISTRY_SCHEMA}" owned by that user).`,
        { cause, details: { schema: REGISTRY_SCHEMA, sqlState: sqlStateOf(cause) ?? null } },
      )
    }
    version = await registryVersion(db)
  }
  if (version !== null && version < REGISTRY_VERSION) {
    await db.transaction(async (run) => {
      await run(CREATE_LOCK)
      for (const statement of MIGRATE_SQL) await run(statement)
    })
    version = await registryVersion(db)
  }
  if (version !== REGISTRY_VERSION) {
    throw new ConnectionError(
      'REGISTRY_VERSION',
      `The run registry in schema "${REGISTRY_SCHEMA}" has version ${String(version)}, but this leakless knows version ${REGISTRY_VERSION}: a newer leakless wrote it. Upgrade leakless in this project, or drop the registry with \`leakless registry --drop\` when no run is live.`,
      { details: { found: version, expected: REGISTRY_VERSION } },
    )
  }
}

/** CI metadata from the environment (GitHub Actions, GitLab CI, or a generic `CI`); null outside CI. */
export function ciMetadata(env: NodeJS.ProcessEnv = process.env): Record<string, string> | null {
  const pick = (entries: Record<string, string | undefined>) =>
    Object.fromEntries(
      Object.entries(entries).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''),
    )
  if (env.GITHUB_ACTIONS === 'true') {
    return pick({
      provider: 'github',
      run: env.GITHUB_RUN_ID,
      attempt: env.GITHUB_RUN_ATTEMPT,
      job: env.GITHUB_JOB,
      sha: env.GITHUB_SHA,
      ref: env.GITHUB_REF,
    })
  }
  if (env.GITLAB_CI === 'true') {
    return pick({ provider: 'gitlab', run: env.CI_PIPELINE_ID, job: env.CI_JOB_ID, sha: env.CI_COMMIT_SHA })
  }
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return { provider: 'ci' }
  return null
}

/** A process about to register: its run, its prefix and the tag columns it knows before any insert. */
export interface ProcessRegistration {
  runTag: string
  runStartedAt: Date
  prefix: string
  shard: number | null
  worker: number
  pid: number
  tagColumns: readonly RegisteredColumn[]
  env?: NodeJS.ProcessEnv
}

/** Registers the run (once), the process and its tag columns, in one statement. */
export async function registerProcess(db: Database, p: ProcessRegistration): Promise<void> {
  await ensureRegistry(db)
  const host = hostname()
  const columns = columnArrays(p.tagColumns)
  await db.transaction(async (run) => {
    await run(RUN_LOCK, [p.runTag])
    await run(
      `with r as (insert into ${registryTable('runs')} (run_tag, started_at, host, ci) values ($1, $2, $3, $4::jsonb) on conflict (run_tag) do nothing),
    p as (insert into ${registryTable('processes')} (prefix, run_tag, shard, worker, pid, host) values ($5, $1, $6, $7, $8, $3) on conflict (prefix) do nothing),
    c as (insert into ${registryTable('tag_columns')} (run_tag, table_schema, table_name, column_name, source)
      select $1, s, t, c, src from unnest($9::text[], $10::text[], $11::text[], $12::text[]) as x(s, t, c, src) on conflict do nothing)
    select 1`,
      [
        p.runTag,
        p.runStartedAt.toISOString(),
        host,
        JSON.stringify(ciMetadata(p.env)),
        p.prefix,
        p.shard,
        p.worker,
        p.pid,
        ...columns,
      ],
    )
  })
}

/** Records tag columns of a run (discovered ones, say); known ones are left as they are. */
export async function recordTagColumns(
  db: Database,
  runTag: string,
  columns: readonly RegisteredColumn[],
): Promise<void> {
  if (columns.length === 0) return
  await db.execute(
    `insert into ${registryTable('tag_columns')} (run_tag, table_schema, table_name, column_name, source)
    select $1, s, t, c, src from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as x(s, t, c, src) on conflict do nothing`,
    [runTag, ...columnArrays(columns)],
  )
}

function columnArrays(columns: readonly RegisteredColumn[]): [string[], string[], string[], string[]] {
  const out: [string[], string[], string[], string[]] = [[], [], [], []]
  for (const c of columns) {
    const { schema, name } = parseTableKey(c.table)
    out[0].push(schema)
    out[1].push(name)
    out[2].push(c.column)
    out[3].push(c.source)
  }
  return out
}

/**
 * Forgets a run once nothing of it is left to find: no process that is still open, no journaled key.
 * Returns true when the run's registry rows were removed (or it had none). The records of its closed
 * processes (their tests' names) stay until the run's end (`final`), for rows written after a close.
 * `registered`: the caller wrote to the registry itself, so its existence needs no check (two round trips).
 */
export async function forgetRunIfDone(
  db: Database,
  runTag: string,
  { final = false, registered = false } = {},
): Promise<boolean> {
  if (!registered && (await registryVersion(db)) === null) return true
  const [row] = await db.transaction(async (run) => {
    await run(RUN_LOCK, [runTag])
    return run<{ kept: boolean }>(
      `with busy as (
      select exists (select from ${registryTable('processes')} where run_tag = $1 and closed_at is null)
        or exists (select from ${registryTable('untagged')} where prefix like $2 escape '\\') as kept
    ),
    p as (delete from ${registryTable('processes')} where run_tag = $1 and not (select kept from busy)),
    c as (delete from ${registryTable('tag_columns')} where run_tag = $1 and not (select kept from busy)),
    r as (delete from ${registryTable('runs')} where run_tag = $1 and not (select kept from busy)),
    d as (delete from ${registryTable('closed_processes')} where run_tag = $1 and $3 and not (select kept from busy))
    select kept from busy`,
      [runTag, likePrefix(`${runTag}-`), final],
    )
  })
  return row?.kept !== true
}

/** Forgets one process after the sweep cleaned it (its journaled keys went with its rows). */
export async function forgetProcess(db: Database, prefix: string): Promise<void> {
  await db.execute(`delete from ${registryTable('processes')} where prefix = $1`, [prefix])
}

/** Every run the registry knows (or the one asked for), with its processes, tag columns and journal counts. */
export async function readRuns(db: Database, runTag?: string): Promise<RegisteredRun[]> {
  if ((await registryVersion(db)) === null) return []
  const filter = runTag === undefined ? '' : 'where run_tag = $1'
  const params = runTag === undefined ? [] : [runTag]
  const [runs, processes, columns, untagged] = await Promise.all([
    db.execute<{ run_tag: string; started_at: string; registered_at: string; host: string | null; ci: string | null }>(
      `select run_tag, started_at::text, registered_at::text, host, ci::text from ${registryTable('runs')} ${filter} order by run_tag`,
      params,
    ),
    db.execute<{
      prefix: string
      run_tag: string
      shard: number | null
      worker: number
      pid: number
      host: string | null
      started_at: string
      closed_at: string | null
    }>(
      `select prefix, run_tag, shard, worker, pid, host, started_at::text, closed_at::text from ${registryTable('processes')} ${filter} order by prefix`,
      params,
    ),
    db.execute<{ run_tag: string; table_schema: string; table_name: string; column_name: string }>(
      `select run_tag, table_schema, table_name, column_name from ${registryTable('tag_columns')} ${filter} order by 1, 2, 3, 4`,
      params,
    ),
    db.execute<{ run_tag: string; table_schema: string; table_name: string; n: number }>(
      `select left(prefix, 14) as run_tag, table_schema, table_name, count(*)::int as n from ${registryTable('untagged')}
      ${runTag === undefined ? '' : "where prefix like $1 escape '\\'"} group by 1, 2, 3 order by 1, 2, 3`,
      runTag === undefined ? [] : [likePrefix(`${runTag}-`)],
    ),
  ])
  const byTag = new Map<string, RegisteredRun>()
  const runOf = (tag: string, startedAt?: string) => {
    let run = byTag.get(tag)
    if (run === undefined) {
      // Processes or keys of a run whose own row is missing (removed too early, or never written).
      run = {
        runTag: tag,
        startedAt: new Date(startedAt ?? 0),
        registeredAt: new Date(startedAt ?? 0),
        host: null,
        ci: null,
        processes: [],
        tagColumns: {},
        untagged: {},
      }
      byTag.set(tag, run)
    }
    return run
  }
  for (const r of runs) {
    const run = runOf(r.run_tag, r.started_at)
    run.registeredAt = new Date(r.registered_at)
    run.host = r.host
    run.ci = r.ci === null ? null : (JSON.parse(r.ci) as Record<string, string>)
  }
  for (const p of processes) {
    runOf(p.run_tag).processes.push({
      prefix: p.prefix,
      runTag: p.run_tag,
      shard: p.shard,
      worker: p.worker,
      pid: p.pid,
      host: p.host,
      startedAt: new Date(p.started_at),
      closedAt: p.closed_at === null ? null : new Date(p.closed_at),
    })
  }
  for (const c of columns) {
    const run = runOf(c.run_tag)
    ;(run.tagColumns[tableKey(c.table_schema, c.table_name)] ??= []).push(c.column_name)
  }
  for (const u of untagged) {
    if (runTag !== undefined && u.run_tag !== runTag) continue
    runOf(u.run_tag).untagged[tableKey(u.table_schema, u.table_name)] = u.n
  }
  return [...byTag.values()].sort((a, b) => (a.runTag < b.runTag ? -1 : a.runTag > b.runTag ? 1 : 0))
}

/** Tables with journaled untagged keys under a prefix (a scope, a process or a run). */
export async function untaggedTables(db: Database, prefix: string): Promise<string[]> {
  if ((await registryVersion(db)) === null) return []
  const rows = await db.execute<{ table_schema: string; table_name: string }>(
    `select distinct table_schema, table_name from ${registryTable('untagged')} where prefix like $1 escape '\\' order by 1, 2`,
    [likePrefix(prefix)],
  )
  return rows.map((r) => tableKey(r.table_schema, r.table_name))
}

/** Drops the registry (its tables, then the schema, without CASCADE). Callers check that no run is live. */
export async function dropRegistry(db: Database): Promise<void> {
  await db.transaction(async (run) => {
    await run(CREATE_LOCK)
    for (const statement of DROP_REGISTRY_SQL) await run(statement)
  })
  ready.delete(db)
}

export { REGISTRY_SCHEMA, REGISTRY_VERSION }

/** What the registry knows that a cleanup or an audit of a prefix of `runTag` must start from. */
export interface RegistrySeeds {
  /** False when the database has no registry (nothing was recorded there). */
  exists: boolean
  /** Table key (`public.users`) → tag columns recorded for the run. */
  tagColumns: Record<string, string[]>
  /** Tables with journaled untagged keys under the prefix. */
  untaggedTables: string[]
}

/** Reads the run's tag columns and the tables with journaled keys under `prefix`, in one round trip. */
export async function registrySeeds(db: Database, runTag: string, prefix: string): Promise<RegistrySeeds> {
  const [row] = await db.execute<{ columns: string | null; tables: string | null; exists: boolean }>(
    `select to_regclass('${REGISTRY_SCHEMA}.untagged') is not null as exists`,
  )
  if (row?.exists !== true) return { exists: false, tagColumns: {}, untaggedTables: [] }
  const [seeds] = await db.execute<{ columns: string; tables: string }>(
    `select
      (select coalesce(json_agg(json_build_array(table_schema, table_name, column_name)), '[]')::text
        from ${registryTable('tag_columns')} where run_tag = $1) as columns,
      (select coalesce(json_agg(distinct jsonb_build_array(table_schema, table_name)), '[]')::text
        from ${registryTable('untagged')} where prefix like $2 escape '\\') as tables`,
    [runTag, likePrefix(prefix)],
  )
  // Tag columns are the run's; those in another process's own schema (isolation 'schema') are not this
  // prefix's business, and that schema may be dropped while this one is looked at.
  const own = ownSchemaOf(prefix)
  const foreign = (schema: string) => own !== null && schema !== own && schema.startsWith(`${runTag}_`)
  const tagColumns: Record<string, string[]> = {}
  for (const [schema, table, column] of JSON.parse(seeds!.columns) as Array<[string, string, string]>) {
    if (!foreign(schema)) (tagColumns[tableKey(schema, table)] ??= []).push(column)
  }
  const tables = JSON.parse(seeds!.tables) as Array<[string, string]>
  return { exists: true, tagColumns, untaggedTables: tables.map(([schema, table]) => tableKey(schema, table)) }
}

/** The schema isolation 'schema' gives the process of a process or scope prefix; null for a run prefix. */
function ownSchemaOf(prefix: string): string | null {
  const decoded = decodeId(`${prefix}10`) ?? decodeId(`${prefix}0-10`)
  return decoded === null ? null : workerSchemaName(decoded.processPrefix)
}
