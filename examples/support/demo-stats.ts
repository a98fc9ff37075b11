import { appendFileSync } from 'node:fs'
import type { RunContext } from 'leakless'

/** One worker's (Vitest: one test file's) line in the demo's statistics. */
export interface DemoWorkerRecord {
  runner: 'vitest' | 'playwright'
  pid: number
  worker: number
  /** Test scopes the run context opened. */
  scopes: number
  /** Rows its factories made, per table (tests and scope 0). */
  created: Record<string, number>
}

/**
 * Appends what a run context's factories created to the file `npm run demo` reads
 * (`LEAKLESS_DEMO_STATS`); does nothing outside the demo. Rows the app made are the rest of what the
 * database counted.
 */
export function recordRun(run: RunContext, runner: DemoWorkerRecord['runner']): void {
  const file = process.env.LEAKLESS_DEMO_STATS
  if (!file) return
  const created = run.ledger.recordedPerTable()
  const record: DemoWorkerRecord = { runner, pid: process.pid, worker: run.worker, scopes: run.scopes, created }
  appendFileSync(file, `${JSON.stringify(record)}\n`)
}
