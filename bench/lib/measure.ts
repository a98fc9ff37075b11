/** Shared benchmark plumbing: timing by median of rounds, the common JSON shape, a printed table. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A target such as ">= 2.0" or "<= 1.15", checked against a measured ratio. */
export function meets(value: number, target: string): boolean {
  const m = /^(>=|<=)\s*([0-9.]+)$/.exec(target)
  if (!m) throw new Error(`unknown target ${target}`)
  return m[1] === '>=' ? value >= Number(m[2]) : value <= Number(m[2])
}

export interface BenchResult {
  name: string
  metrics: Record<string, Record<string, number>>
  ratios: Record<string, number>
  targets: Record<string, string>
  pass: boolean
  environment: { node: string; platform: string; cpus: number; date: string }
}

export function writeResult(
  name: string,
  metrics: BenchResult['metrics'],
  ratios: BenchResult['ratios'],
  targets: BenchResult['targets'],
  cpus: number,
): BenchResult {
  const pass = Object.entries(targets).every(([key, target]) => ratios[key] !== undefined && meets(ratios[key], target))
  const result: BenchResult = {
    name,
    metrics,
    ratios,
    targets,
    pass,
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus,
      date: new Date().toISOString(),
    },
  }
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`)
  return result
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {})
  const cell = (v: string | number) =>
    typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : v
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]!).length)))
  const line = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')
  console.log(`\n${title}`)
  console.log(line(columns))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]!))))
}
