import type { Database } from '../db/database.js'
import { q } from '../db/sql-text.js'
import { isOwnDatabaseName, isTemplateName } from '../db/worker-database.js'
import { sqlStateOf } from '../driver-error.js'
import { CleanupError } from '../errors.js'
import { ensureRegistry, registryVersion, REGISTRY_VERSION } from './registry.js'
import { registryTable } from './registry-sql.js'

/**
 * Databases leakless created, as the registry keeps them (table created_resources): kind 'database' for
 * a run context's own database (isolation 'database') or a template being built, owned by the process
 * prefix whose lease says whether it is alive; kind 'template' for a migrated template, owned by its
 * migrations hash. A database without a record is never dropped.
 */
export interface CreatedDatabase {
  name: string
  runTag: string
  owner: string
  createdAt: Date
}

/** Records a database before it is created, so that a process dying right after creating it leaves a record. */
export async function recordCreatedDatabase(
  db: Database,
  d: { name: string; runTag: string; owner: string },
): Promise<void> {
  await ensureRegistry(db)
  await db.execute(
    `insert into ${registryTable('created_resources')} (kind, name, run_tag, owner) values ('database', $1, $2, $3)`,
    [d.name, d.runTag, d.owner],
  )
}

/**
 * Drops a database the registry records as a run context's (kind 'database'), then its record; returns
 * whether there was one. Only the name its owner's prefix gives, never the database of this connection,
 * and without FORCE: a database someone is connected to is refused by PostgreSQL and kept (with its
 * record) for a later sweep. Callers run the safety guard first.
 */
export async function dropCreatedDatabase(db: Database, name: string): Promise<boolean> {
  const [recorded] = await db.execute<{ owner: string; current: string }>(
    `select owner, current_database() as current from ${registryTable('created_resources')} where kind = 'database' and name = $1`,
    [name],
  )
  if (recorded === undefined) return false
  if (!isOwnDatabaseName(name, recorded.owner) || name === recorded.current) {
    throw new CleanupError(
      'CLEANUP_FAILED',
      `Refusing to drop database "${name}": the registry records it for ${JSON.stringify(recorded.owner)}, whose database would be named differently${name === recorded.current ? ' (and it is the database of this connection)' : ''}. leakless drops only the databases it names itself; remove the record from ${registryTable('created_resources')} by hand.`,
      { details: { database: name, owner: recorded.owner } },
    )
  }
  await dropDatabase(db, name)
  await db.execute(`delete from ${registryTable('created_resources')} where kind = 'database' and name = $1`, [name])
  return true
}

/**
 * Renames a migrated build to the template's name and turns its record into the template's, in one
 * transaction: a template's name only ever points at a complete database.
 */
export async function publishTemplate(db: Database, build: string, template: string, hash: string): Promise<void> {
  await db.transaction(async (run) => {
    await run(`alter database ${q(build)} rename to ${q(template)}`)
    await run(
      `update ${registryTable('created_resources')} set kind = 'template', name = $2, owner = $3, created_at = now() where kind = 'database' and name = $1`,
      [build, template, hash],
    )
  })
}

/**
 * True when `name` is a template the registry records (a complete one: see {@link publishTemplate}) and
 * it exists; marks it used now (its record's `created_at`), so the sweep keeps templates in use.
 */
export async function useTemplate(db: Database, name: string): Promise<boolean> {
  const rows = await db.execute(
    `update ${registryTable('created_resources')} r set created_at = now() from pg_database d
    where r.kind = 'template' and r.name = $1 and d.datname = r.name returning 1`,
    [name],
  )
  return rows.length > 0
}

/** How long a template may go unused before the sweep drops it (its migrations changed, most likely). */
export const TEMPLATE_UNUSED_MS = 7 * 24 * 60 * 60 * 1000

/**
 * Drops recorded templates not used for `unusedForMs` (the sweep), or every one (before the registry is
 * dropped); in a dry run only lists them. One in use (being cloned) stays for the next time. Returns
 * the names dropped.
 */
export async function dropTemplates(
  db: Database,
  which: 'all' | { unusedForMs: number },
  dryRun = false,
): Promise<string[]> {
  if ((await registryVersion(db)) !== REGISTRY_VERSION) return []
  const unused = await db.execute<{ name: string; owner: string }>(
    `select name, owner from ${registryTable('created_resources')} where kind = 'template'
    ${which === 'all' ? '' : `and created_at < now() - make_interval(secs => $1)`} order by name`,
    which === 'all' ? [] : [which.unusedForMs / 1000],
  )
  const dropped: string[] = []
  for (const t of unused) {
    if (!isTemplateName(t.name, t.owner)) continue
    if (!dryRun) {
      try {
        await dropDatabase(db, t.name)
      } catch {
        continue
      }
      await db.execute(`delete from ${registryTable('created_resources')} where kind = 'template' and name = $1`, [
        t.name,
      ])
    }
    dropped.push(t.name)
  }
  return dropped
}

/** Every run context's database the registry records (of one run, when asked), oldest first. */
export async function readCreatedDatabases(db: Database, runTag?: string): Promise<CreatedDatabase[]> {
  if ((await registryVersion(db)) !== REGISTRY_VERSION) return []
  const rows = await db.execute<{ name: string; run_tag: string; owner: string; created_at: string }>(
    `select name, run_tag, owner, created_at::text from ${registryTable('created_resources')}
    where kind = 'database' ${runTag === undefined ? '' : 'and run_tag = $1'} order by created_at, name`,
    runTag === undefined ? [] : [runTag],
  )
  return rows.map((r) => ({ name: r.name, runTag: r.run_tag, owner: r.owner, createdAt: new Date(r.created_at) }))
}

async function dropDatabase(db: Database, name: string): Promise<void> {
  try {
    // No FORCE: PostgreSQL refuses while anyone is connected, which is what keeps a live one safe.
    await db.execute(`drop database if exists ${q(name)}`)
  } catch (error) {
    if (sqlStateOf(error) !== '55006') throw error
    throw new CleanupError(
      'CLEANUP_FAILED',
      `Could not drop database "${name}" (leakless created it): other sessions are connected to it. Close them (an app server of the worker still running?), then run \`leakless sweep\`.`,
      { cause: error, details: { database: name } },
    )
  }
}
