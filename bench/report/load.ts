/** The benchmark results the report draws: every `bench/results/<name>.json`, in the order they run. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchResult } from '../lib/measure.js'

/** How long `npm run bench` took (bench/results/_run.json), when it ran them all. */
export interface RunTiming {
  date: string
  totalSeconds: number
  benchmarks: Record<string, { seconds: number; exitCode: number | null }>
}

/** What one report is drawn from. */
export interface ReportInput {
  results: BenchResult[]
  run: RunTiming | null
}

/** The order of `npm run bench`; others follow by name. */
export const ORDER = [
  'ids',
  'create',
  'cleanup',
  'per-test',
  'audit',
  'embedded',
  'suite',
  'registry',
  'ledger',
  'schema-setup',
  'isolation',
]

const rank = (name: string) => {
  const i = ORDER.indexOf(name)
  return i === -1 ? ORDER.length : i
}

function isResult(value: unknown): value is BenchResult {
  const v = value as Partial<BenchResult> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    typeof v.metrics === 'object' &&
    typeof v.ratios === 'object' &&
    typeof v.targets === 'object'
  )
}

/** Sorts results into the report's order (a copy). */
export const sortResults = (results: BenchResult[]) =>
  [...results].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))

/** Reads the results in `dir` (files starting with `_` are the runner's own); throws on a malformed one. */
export function loadReportInput(dir: string): ReportInput {
  if (!existsSync(dir)) return { results: [], run: null }
  const results: BenchResult[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('_'))) {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    if (!isResult(parsed))
      throw new Error(`${join(dir, file)} is not a benchmark result ({ name, metrics, ratios, targets })`)
    results.push({ ...parsed, config: parsed.config ?? {} })
  }
  const runFile = join(dir, '_run.json')
  const run = existsSync(runFile) ? (JSON.parse(readFileSync(runFile, 'utf8')) as RunTiming) : null
  return { results: sortResults(results), run }
}
