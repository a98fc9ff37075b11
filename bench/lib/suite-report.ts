/** What one Vitest run of the `suite` benchmark reports: its tests, and where its time went by Vitest's own account. */
import { readFileSync } from 'node:fs'
import { median } from './measure.js'

export interface SuiteRunFacts {
  passed: number
  failed: number
  /** Vitest's summary line, `Duration … (transform …, import …, tests …)`, in ms per phase (summed over files). */
  phases: Record<string, number>
  /** Median over files of (file's time − its tests' time): the file's fixtures outside its tests, open and close. */
  fileOverheadMs: number
  /** Median of each file's first test. */
  firstTestMs: number
  /** Median of every other test. */
  otherTestMs: number
}

interface JsonReport {
  numPassedTests: number
  numFailedTests: number
  testResults: Array<{ startTime: number; endTime: number; assertionResults: Array<{ duration?: number | null }> }>
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

/** `Duration  4.52s (transform 20ms, setup 0ms, import 1.20s, tests 3.00s)` → `{ transform: 20, … }`. */
export function summaryPhases(output: string): Record<string, number> {
  const line = /Duration\s+[0-9.]+m?s\s*\(([^)]*)\)/.exec(output)
  const phases: Record<string, number> = {}
  for (const part of line?.[1]?.split(',') ?? []) {
    const m = /([a-z/]+)\s+([0-9.]+)(ms|s|m)/.exec(part.trim())
    if (m) phases[m[1]!] = Number(m[2]) * UNITS[m[3]!]!
  }
  return phases
}

export function readRunFacts(reportFile: string, output: string): SuiteRunFacts {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport
  const overhead: number[] = []
  const first: number[] = []
  const other: number[] = []
  for (const file of report.testResults) {
    const durations = file.assertionResults.map((a) => a.duration ?? 0)
    overhead.push(file.endTime - file.startTime - durations.reduce((a, b) => a + b, 0))
    if (durations.length > 0) first.push(durations[0]!)
    other.push(...durations.slice(1))
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    phases: summaryPhases(output),
    fileOverheadMs: overhead.length ? median(overhead) : NaN,
    firstTestMs: first.length ? median(first) : NaN,
    otherTestMs: other.length ? median(other) : NaN,
  }
}
