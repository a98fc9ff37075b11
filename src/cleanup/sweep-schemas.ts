import type { Database } from '../db/database.js'
import { decodeId } from '../ids/decode.js'
import { dropCreatedSchema, readCreatedSchemas } from '../registry/created-resources.js'
import { isLeaseHeld } from './lease.js'

/** A schema leakless created for a run context that is gone, dropped by the sweep (or, in a dry run, would be). */
export interface SweptSchema {
  name: string
  runTag: string
  /** Process prefix of the run context that created it. */
  owner: string
}

/**
 * Drops the schemas the registry says leakless created (isolation 'schema') whose owner's lease is free
 * and whose run started before `cutoff`. A schema the registry does not record is never looked at.
 * Callers run the safety guard first.
 */
export async function sweepCreatedSchemas(
  db: Database,
  options: { cutoff: number; dryRun: boolean; wanted: (runTag: string) => boolean; shard?: number | null },
): Promise<SweptSchema[]> {
  const swept: SweptSchema[] = []
  for (const s of await readCreatedSchemas(db)) {
    const owner = decodeId(`${s.owner}0-10`)
    if (owner === null || owner.processPrefix !== s.owner || !options.wanted(s.runTag)) continue
    if (options.shard !== undefined && owner.shard !== options.shard) continue
    if (owner.time.getTime() > options.cutoff || (await isLeaseHeld(db, s.owner))) continue
    // A close or another sweep may have dropped it meanwhile: then it is not reported.
    if (!options.dryRun && !(await dropCreatedSchema(db, s.name))) continue
    swept.push({ name: s.name, runTag: s.runTag, owner: s.owner })
  }
  return swept
}
