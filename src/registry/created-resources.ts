import type { Database, RawExecute } from '../db/database.js'
import { q } from '../db/sql-text.js'
import { workerSchemaName } from '../db/worker-schema.js'
import { CleanupError } from '../errors.js'
import { ensureRegistry, registryVersion, REGISTRY_VERSION } from './registry.js'
import { registryTable } from './registry-sql.js'

/** A schema leakless created for a run context (isolation 'schema'), as the registry keeps it. */
export interface CreatedSchema {
  name: string
  runTag: string
  /** Process prefix of the run context that owns it: its lease says whether it is alive. */
  owner: string
  createdAt: Date
}

/** Records a schema before it is created, so that a process dying right after creating it leaves a record. */
export async function recordCreatedSchema(
  db: Database,
  s: { name: string; runTag: string; owner: string },
): Promise<void> {
  await ensureRegistry(db)
  await db.execute(
    `insert into ${registryTable('created_resources')} (kind, name, run_tag, owner) values ('schema', $1, $2, $3)`,
    [s.name, s.runTag, s.owner],
  )
}

// Objects outside the schema that depend on objects inside it: CASCADE would drop them too. Column
// defaults, triggers, policies and rules (a view's) have no schema of their own: theirs is their table's.
const OUTSIDE_DEPENDENTS = `select distinct pg_describe_object(d.classid, d.objid, d.objsubid) as object
  from pg_depend d
  cross join lateral pg_identify_object(d.refclassid, d.refobjid, 0) as ref
  cross join lateral pg_identify_object(d.classid, d.objid, 0) as dep
  cross join lateral (select coalesce(dep.schema, (
    select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.oid = case d.classid
      when 'pg_attrdef'::regclass then (select adrelid from pg_attrdef where oid = d.objid)
      when 'pg_trigger'::regclass then (select tgrelid from pg_trigger where oid = d.objid)
      when 'pg_policy'::regclass then (select polrelid from pg_policy where oid = d.objid)
      when 'pg_rewrite'::regclass then (select ev_class from pg_rewrite where oid = d.objid)
    end)) as schema) as owner
  where ref.schema = $1 and owner.schema is not null and owner.schema <> $1 and d.deptype in ('n', 'a')
  order by 1 limit 20`

/**
 * Drops a schema the registry records as created by leakless, and its record, in one transaction; a
 * schema without a record is left alone. Returns whether there was one. Only when the record names its
 * owner's schema (never a name written by anyone else, `public` say) and nothing outside the schema
 * depends on it; its objects are dropped by kind and the schema with RESTRICT, never CASCADE, so anything
 * unexpected in it stops the drop. Callers run the safety guard first.
 */
export async function dropCreatedSchema(db: Database, name: string): Promise<boolean> {
  return db.transaction(async (run) => {
    const [recorded] = await run<{ name: string; owner: string }>(
      `delete from ${registryTable('created_resources')} where kind = 'schema' and name = $1 returning name, owner`,
      [name],
    )
    if (recorded === undefined) return false
    if (!isOwnSchema(recorded.name, recorded.owner)) {
      throw new CleanupError(
        'CLEANUP_FAILED',
        `Refusing to drop schema "${recorded.name}": the registry records it for ${JSON.stringify(recorded.owner)}, whose schema would be named differently. leakless drops only the schemas it names itself; remove the record from ${registryTable('created_resources')} by hand.`,
        { details: { schema: recorded.name, owner: recorded.owner } },
      )
    }
    const outside = await run<{ object: string }>(OUTSIDE_DEPENDENTS, [name])
    if (outside.length > 0) {
      throw new CleanupError(
        'CLEANUP_FAILED',
        `Refusing to drop schema "${name}" (a run context's, isolation 'schema'): objects outside it depend on it and would be dropped with it: ${outside.map((o) => o.object).join('; ')}. Drop or change them, then sweep again.`,
        { details: { schema: name, dependents: outside.map((o) => o.object) } },
      )
    }
    for (const statement of await dropStatements(run, name)) await run(statement)
    await run(`drop schema if exists ${q(name)} restrict`)
    return true
  })
}

// What migrations put in a schema, by kind: each kind in one statement (objects that depend on each other
// go together), views before the tables they read, routines and sequences before the types they use.
// No CASCADE: anything else in the schema stops the drop (RESTRICT) and rolls it back.
const OBJECTS = `select kind, string_agg(format('%I.%I', $1::text, name), ', ' order by name) as names from (
    select case c.relkind when 'v' then 1 when 'm' then 2 when 'f' then 3 when 'S' then 5 else 4 end as kind, c.relname as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
        and not (c.relkind = 'S' and exists (select from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
        and not (c.relkind = 'r' and c.relispartition)
    union all
    select 7, t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = $1 and t.typtype in ('e', 'd', 'r', 'c') and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
  ) as o group by kind order by kind`

const DROP_KIND: Record<number, string> = {
  1: 'drop view',
  2: 'drop materialized view',
  3: 'drop foreign table',
  4: 'drop table',
  5: 'drop sequence',
  7: 'drop type',
}

async function dropStatements(run: RawExecute, name: string): Promise<string[]> {
  const rows = await run<{ kind: number; names: string }>(OBJECTS, [name])
  const routines = await run<{ signature: string }>(
    `select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1`,
    [name],
  )
  const statements = rows.map((r) => `${DROP_KIND[Number(r.kind)]} ${r.names}`)
  // Routines after the tables that may call them in defaults, before the types in their signatures.
  if (routines.length > 0) {
    const at = statements.findIndex((s) => s.startsWith('drop type'))
    const drop = `drop routine ${routines.map((r) => r.signature).join(', ')}`
    statements.splice(at === -1 ? statements.length : at, 0, drop)
  }
  return statements
}

function isOwnSchema(name: string, owner: string): boolean {
  try {
    return workerSchemaName(owner) === name
  } catch {
    return false
  }
}

/** Every schema the registry says leakless created (of one run, when asked), oldest first. */
export async function readCreatedSchemas(db: Database, runTag?: string): Promise<CreatedSchema[]> {
  if ((await registryVersion(db)) !== REGISTRY_VERSION) return []
  const rows = await db.execute<{ name: string; run_tag: string; owner: string; created_at: string }>(
    `select name, run_tag, owner, created_at::text from ${registryTable('created_resources')}
    where kind = 'schema' ${runTag === undefined ? '' : 'and run_tag = $1'} order by created_at, name`,
    runTag === undefined ? [] : [runTag],
  )
  return rows.map((r) => ({ name: r.name, runTag: r.run_tag, owner: r.owner, createdAt: new Date(r.created_at) }))
}
