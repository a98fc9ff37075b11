import type { Database } from '../db/database.js'
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
 * schema without a record is left alone. Returns whether there was one. CASCADE here, and only here: the
 * schema is leakless's own, made for one run context (DESIGN.md's no-CASCADE rule is about rows in the
 * user's tables) — and only when the record names its owner's schema (never a name written by anyone
 * else, `public` say) and nothing outside the schema depends on it (a view or a foreign key in another
 * schema would go with it). Callers run the safety guard first.
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
    await run(`drop schema if exists ${q(name)} cascade`)
    return true
  })
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
