import { describeValue } from '../describe-value.js'
import { InputError } from '../errors.js'
import type { DatabaseInput } from '../db/database-input.js'
import type { GuardOptions } from '../db/guard.js'
import { RUN_TAG_PATTERN } from '../ids/id-format.js'
import type { NullableDependentRule } from './delete-plan.js'
import type { SweptSchema } from './sweep-schemas.js'

export interface SweepOptions {
  /** The handle `connect()` returns, or a drizzle instance (postgres.js, node-postgres, PGlite). */
  db: DatabaseInput
  /** Only runs that started at least this long ago are swept. @default 3_600_000 (one hour) */
  olderThanMs?: number
  /** Count what would be deleted (SELECT only), delete nothing. @default false */
  dryRun?: boolean
  /** Table (`public.users`) → columns carrying tags, besides every table's text primary key and the registry's. */
  tagColumns?: Readonly<Record<string, readonly string[]>>
  /** Schemas to look at; schemas of the registry's tables are added. @default ['public'] */
  schemas?: string[]
  /** Sweep only the processes of this run (e.g. `leakless sweep --run <tag>`). @default every run */
  runTag?: string
  /** Sweep only processes of this CI shard (`null`: processes without a shard). @default every shard */
  shard?: number | null
  /** Leave this run alone entirely (the current one); its processes are not reported. */
  exceptRunTag?: string
  /**
   * Also scan every tag column of every table for prefixes of runs the registry does not know (runs of
   * a leakless without a registry, or registry rows dropped by hand). Slow on big tables. @default false
   */
  scan?: boolean
  /** Remove the registry rows of runs with nothing left (retention). @default true */
  forget?: boolean
  /** The clock the age threshold is measured against. @default new Date() */
  now?: Date
  /** Called after each table is scanned for prefixes. */
  onProgress?: (done: number, total: number, table: string) => void
  /** Rows referencing swept rows through a nullable FK without a tag, per table. @default 'fail' for every table */
  nullableDependents?: Readonly<Record<string, NullableDependentRule>>
  guard?: GuardOptions
}

/** One dead process whose rows were deleted (or, in a dry run, would be). */
export interface SweptProcess {
  /** Process prefix `<runTag>-<process>-`. */
  prefix: string
  runTag: string
  shard: number | null
  /** The run registry's number of the process (short process field), or null. */
  process: number | null
  /** Worker index and pid: from the id's long process field, else from the run registry; null when neither knows. */
  worker: number | null
  pid: number | null
  /** When its run started (from the run tag). */
  startedAt: Date
  /** Rows per table (`public.users` → 3); tables with none are left out. */
  deleted: Record<string, number>
}

export interface SweepReport {
  swept: SweptProcess[]
  /** Schemas leakless created for run contexts now dead (isolation 'schema'), dropped (or, in a dry run, would be). */
  schemas: SweptSchema[]
  /** Databases leakless created for run contexts now dead (isolation 'database'), dropped (or would be). */
  databases: SweptSchema[]
  /** Template databases of isolation 'database' unused for a week (a sweep of every run only), dropped (or would be). */
  templates: string[]
  skipped: Array<{ prefix: string; reason: 'lease held' | 'too young' }>
  /** Runs whose registry rows were removed, nothing of them being left. */
  forgotten: string[]
  dryRun: boolean
  durationMs: number
}

/** Checks the options of `sweep()`; returns the age threshold in ms. */
export function checkOptions(options: SweepOptions): number {
  const olderThanMs = options.olderThanMs ?? 3_600_000
  if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) {
    throw new InputError(
      'OPTION_INVALID',
      `sweep(): olderThanMs must be a number of milliseconds >= 0, got ${describeValue(olderThanMs)}. Pass e.g. 3_600_000 for one hour, or 0 for any age.`,
      { details: { olderThanMs } },
    )
  }
  for (const [name, tag] of [
    ['runTag', options.runTag],
    ['exceptRunTag', options.exceptRunTag],
  ] as const) {
    if (tag !== undefined && (typeof tag !== 'string' || !RUN_TAG_PATTERN.test(tag))) {
      throw new InputError(
        'RUN_TAG_INVALID',
        `sweep(): ${name} must be a run tag (14 characters [0-9a-z], as LEAKLESS_RUN or \`leakless decode\` show), got ${describeValue(tag)}.`,
        { details: { [name]: tag } },
      )
    }
  }
  const { shard, schemas, now } = options
  if (shard !== undefined && shard !== null && !(Number.isSafeInteger(shard) && shard >= 1)) {
    throw new InputError(
      'OPTION_INVALID',
      `sweep(): shard must be a shard number >= 1, or null for processes without a shard, got ${describeValue(shard)}.`,
      { details: { shard } },
    )
  }
  if (
    schemas !== undefined &&
    !(Array.isArray(schemas) && schemas.length > 0 && schemas.every((s) => typeof s === 'string' && s !== ''))
  ) {
    throw new InputError(
      'OPTION_INVALID',
      `sweep(): schemas must be a non-empty array of schema names, e.g. ['public'], got ${describeValue(schemas)}.`,
      { details: { schemas } },
    )
  }
  if (now !== undefined && !(now instanceof Date && !Number.isNaN(now.getTime()))) {
    throw new InputError('OPTION_INVALID', `sweep(): now must be a valid Date, got ${describeValue(now)}.`, {
      details: { now },
    })
  }
  return olderThanMs
}
