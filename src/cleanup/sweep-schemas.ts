import type { Database } from '../db/database.js'
import { decodeId } from '../ids/decode.js'
import {
  dropCreatedDatabase,
  dropTemplates,
  readCreatedDatabases,
  TEMPLATE_UNUSED_MS,
} from '../registry/created-databases.js'
import { dropCreatedSchema, readCreatedSchemas, type CreatedSchema } from '../registry/created-resources.js'
import { isLeaseHeld } from './lease.js'

/** A schema or database leakless created for a run context that is gone, dropped by the sweep (or, in a dry run, would be). */
export interface SweptSchema {
  name: string
  runTag: string
  /** Process prefix of the run context that created it. */
  owner: string
}

interface SweepCreatedOptions {
  cutoff: number
  dryRun: boolean
  wanted: (runTag: string) => boolean
  shard?: number | null
  /** Also drop templates unused for a week (a sweep of every run, not of one run or shard). */
  templates: boolean
}

/**
 * Drops the schemas (isolation 'schema') and databases (isolation 'database', and templates whose build
 * died) the registry says leakless created, whose owner's lease is free and whose run started before
 * `cutoff`. Nothing the registry does not record is ever looked at. Callers run the safety guard first.
 */
export async function sweepCreatedResources(
  db: Database,
  options: SweepCreatedOptions,
): Promise<{ schemas: SweptSchema[]; databases: SweptSchema[]; templates: string[] }> {
  return {
    schemas: await sweepEach(db, await readCreatedSchemas(db), options, (name) => dropCreatedSchema(db, name)),
    databases: await sweepEach(db, await readCreatedDatabases(db), options, (name) => dropCreatedDatabase(db, name)),
    templates: options.templates ? await dropTemplates(db, { unusedForMs: TEMPLATE_UNUSED_MS }, options.dryRun) : [],
  }
}

async function sweepEach(
  db: Database,
  created: readonly CreatedSchema[],
  options: SweepCreatedOptions,
  drop: (name: string) => Promise<boolean>,
): Promise<SweptSchema[]> {
  const swept: SweptSchema[] = []
  for (const s of created) {
    const owner = decodeId(`${s.owner}0-10`)
    if (owner === null || owner.processPrefix !== s.owner || !options.wanted(s.runTag)) continue
    if (options.shard !== undefined && owner.shard !== options.shard) continue
    if (owner.time.getTime() > options.cutoff || (await isLeaseHeld(db, s.owner))) continue
    // A close or another sweep may have dropped it meanwhile: then it is not reported.
    if (!options.dryRun && !(await drop(s.name))) continue
    swept.push({ name: s.name, runTag: s.runTag, owner: s.owner })
  }
  return swept
}
