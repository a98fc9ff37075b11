import type { Database } from '../db/database.js'
import { databaseOf, type DatabaseInput } from '../db/database-input.js'
import { cachedSchema } from '../db/introspect.js'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import { recordTagColumns, registrySeeds } from '../registry/registry.js'
import type { CleanupReport } from '../run/cleanup-contract.js'
import { schemaOfKey } from '../table-key.js'
import { discoverTagColumns } from './discover.js'
import { cleanupPrefix, tagColumnsOf, withTableKeys, type CleanupOptions } from './execute.js'

function merge(...sources: Array<Readonly<Record<string, readonly string[]>> | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const source of sources) {
    for (const [table, columns] of Object.entries(source ?? {}))
      out[table] = [...new Set([...(out[table] ?? []), ...columns])]
  }
  return out
}

/**
 * Deletes what `prefix` owns with everything the run registry knows about its run: the tag columns any
 * of its processes recorded, the untagged rows its factories journaled (by key, from the registry, with
 * their journal entries), and text columns discovery finds holding the prefix. Works on any machine.
 *
 * @example
 * await cleanupRegistered(db, `${runTag}-`)
 */
export async function cleanupRegistered(
  db: Database,
  prefix: string,
  input: CleanupOptions = {},
): Promise<CleanupReport> {
  assertOwnedPrefix(prefix)
  const options = withTableKeys(input)
  const runTag = prefix.slice(0, 14)
  const seeds = await registrySeeds(db, runTag, prefix)
  const learnt = merge(options.learntTagColumns, seeds.tagColumns)
  const schemas = [
    ...new Set([
      ...(options.schemas ?? ['public']),
      ...[...Object.keys(learnt), ...seeds.untaggedTables].map(schemaOfKey),
    ]),
  ]
  const graph = await cachedSchema(db, { schemas })
  const known = Object.fromEntries(
    Object.entries(merge(learnt, options.tagColumns)).filter(([table]) => graph.tables.has(table)),
  )
  const found = await discoverTagColumns(db, graph, tagColumnsOf(graph, known), prefix)
  if (found.length > 0 && seeds.exists) {
    await recordTagColumns(
      db,
      runTag,
      found.map((c) => ({ ...c, source: 'discovered' as const })),
    )
  }
  for (const c of found) (learnt[c.table] ??= []).push(c.column)
  return cleanupPrefix(db, prefix, {
    ...options,
    schemas,
    learntTagColumns: learnt,
    registryKeys: new Set([...(options.registryKeys ?? []), ...seeds.untaggedTables]),
    journal: seeds.exists || options.journal === true,
  })
}

/**
 * Deletes everything a whole run owns (every worker, every shard), e.g. after a CI run, with what the
 * run registry knows about it (tag columns, journaled untagged rows) from any machine.
 *
 * @example
 * await cleanupRun(db, process.env.LEAKLESS_RUN!)
 */
export async function cleanupRun(
  db: DatabaseInput,
  runTag: string,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  return cleanupRegistered(await databaseOf(db, 'cleanupRun()'), `${runTag}-`, options)
}
