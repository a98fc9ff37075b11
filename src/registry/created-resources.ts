import type { Database } from '../db/database.js'
import { q } from '../db/sql-text.js'
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

/**
 * Drops a schema the registry records as created by leakless, and its record, in one transaction; a
 * schema without a record is left alone. Returns whether there was one. CASCADE here, and only here: the
 * schema is leakless's own, made for one run context (DESIGN.md's no-CASCADE rule is about rows in the
 * user's tables). Callers run the safety guard first.
 */
export async function dropCreatedSchema(db: Database, name: string): Promise<boolean> {
  return db.transaction(async (run) => {
    const recorded = await run(
      `delete from ${registryTable('created_resources')} where kind = 'schema' and name = $1 returning name`,
      [name],
    )
    if (recorded.length === 0) return false
    await run(`drop schema if exists ${q(name)} cascade`)
    return true
  })
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
