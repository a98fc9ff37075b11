import { appendFileSync } from 'node:fs'
import type { TestScope } from 'leakless'

/** One test's line in the demo's statistics: who ran it, and how many rows its factories made per table. */
export interface DemoTestRecord {
  runner: 'vitest' | 'playwright'
  pid: number
  worker: number
  test: string
  created: Record<string, number>
}

/**
 * Appends what a test's factories created to the file `npm run demo` reads (`LEAKLESS_DEMO_STATS`);
 * does nothing outside the demo. Rows the app made are the rest of what the database counted.
 */
export function recordTest(scope: TestScope, runner: DemoTestRecord['runner']): void {
  const file = process.env.LEAKLESS_DEMO_STATS
  if (!file) return
  const created = Object.fromEntries(Object.entries(scope.created).map(([table, rows]) => [table, rows.length]))
  const record: DemoTestRecord = { runner, pid: process.pid, worker: scope.run.worker, test: scope.name, created }
  appendFileSync(file, `${JSON.stringify(record)}\n`)
}
