import { CleanupError } from '../errors.js'
import type { AuditReport } from '../audit/types.js'
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
  mode: 'single' | 'ordered' | 'fixpoint'
  /** 1, or more when a deadlock or serialization failure was retried. */
  attempts: number
}

/**
 * What a run context needs from the cleanup layer; implemented in `cleanup/` and attached by the
 * public `createRun`, so `run/` does not depend on the layers above it.
 */
export interface RunCleaner {
  /**
   * Deletes what `prefix` owns, with the ledger's untagged rows; `discover` also looks for the prefix in
   * text columns nobody named (where the app copied a value the test handed it). @default discover: true
   */
  cleanPrefix(prefix: string, ledger: Ledger, options?: { discover?: boolean }): Promise<CleanupReport>
  /**
   * The scope of `prefix` wrote in a transaction that was rolled back: its ledger's entries are released
   * (no row to delete), and rows with its prefix found at close count as late writes.
   */
  rolledBack(prefix: string, ledger: Ledger): void
  /** Worker cleanup, then the worker's leak audit; releases the run's lease. */
  close(): Promise<CloseReport>
  /** The run's lease: `held` is false while it is lost (its connection dropped and could not be renewed). */
  readonly lease: LeaseState | null
}

/** Whether a run still holds its lease, and how often its connection dropped. */
export interface LeaseState {
  held: boolean
  /** How many times the lease's connection dropped (a server restart); it is renewed at the next cleanup. */
  lost: number
}

/** What `run.close()` did: what ended tests left behind, the worker's cleanup, and the audit after it. */
export interface CloseReport {
  /** False when `leftBehind` or `audit` found rows. */
  clean: boolean
  /**
   * Rows still carrying the prefix of a test whose `scope.cleanup()` had already run, found before the
   * worker's cleanup deleted them: late writes (a timer, a queue, the app after the test ended).
   */
  leftBehind: AuditReport
  cleanup: CleanupReport
  /** The leak audit of the worker's prefix after its cleanup: rows that cleanup could not remove. */
  audit: AuditReport
  /** The lease as it was before close released it; null on a run without one. */
  lease: LeaseState | null
}

export function noCleaner(what: string): CleanupError {
  return new CleanupError(
    'CLEANUP_FAILED',
    `${what} needs a database: create the run with createRun({ db: await connect() }) (or a drizzle instance).`,
  )
}
