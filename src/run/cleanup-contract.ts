import { CleanupError } from '../errors.js'
import type { Ledger } from './ledger.js'

/** What one cleanup deleted. */
export interface CleanupReport {
  prefix: string
  /** Rows deleted per table (`public.users` → 3); tables with none are left out. */
  deleted: Record<string, number>
  total: number
  durationMs: number
  /** SQL statements sent (1 for the single-statement path). */
  statements: number
  mode: 'single' | 'ordered'
  /** 1, or more when a deadlock or serialization failure was retried. */
  attempts: number
}

/**
 * What a run context needs from the cleanup layer; implemented in `cleanup/` and attached by the
 * public `createRun`, so `run/` does not depend on the layers above it.
 */
export interface RunCleaner {
  /** Deletes what `prefix` owns, with the ledger's untagged rows. */
  cleanPrefix(prefix: string, ledger: Ledger): Promise<CleanupReport>
}

export function noCleaner(what: string): CleanupError {
  return new CleanupError(
    'CLEANUP_FAILED',
    `${what} needs a database: create the run with createRun({ db: await connect() }) (or a drizzle instance).`,
  )
}
