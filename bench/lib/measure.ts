/** Shared benchmark plumbing: timing by median of interleaved rounds, the common JSON shape, a printed table. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')

export function median(values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Milliseconds since `start` (a `process.hrtime.bigint()`). */
export const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

/** A target such as ">= 2.0" or "<= 1.15", checked against a measured ratio. */
export function meets(value: number, target: string): boolean {
  const m = /^(>=|<=)\s*([0-9.]+)$/.exec(target)
  if (!m) throw new Error(`unknown target ${target}`)
  if (!Number.isFinite(value)) return false
  return m[1] === '>=' ? value >= Number(m[2]) : value <= Number(m[2])
}

/** Whether every target is met by its measured ratio (a target whose ratio is missing is not). */
export function passes(ratios: Record<string, number>, targets: Record<string, string>): boolean {
  return Object.entries(targets).every(([key, target]) => ratios[key] !== undefined && meets(ratios[key], target))
}

/** How a cost grows with size: the same measure at two sizes or more (the README's "how cost grows"). */
export interface Scaling {
  /** What was measured, e.g. "audit({ runTag, ledger }), prefix index present". */
  what: string
  unit: string
  points: Array<{ size: string; value: number }>
}

export interface BenchResult {
  name: string
  /** What was run: sizes, rounds, drivers, the server; enough to read the figures. */
  config: Record<string, unknown>
  /** Measured values by group (e.g. `medianMs`) and contender. */
  metrics: Record<string, Record<string, number>>
  ratios: Record<string, number>
  /** Targets by ratio; ratios without one are reported only. */
  targets: Record<string, string>
  /** True when every target is met by its measured ratio. */
  pass: boolean
  /** What each ratio compares, in words, for the report. @default the ratio's key */
  labels?: Record<string, string>
  scaling?: Scaling[]
  environment: { node: string; platform: string; cpus: number; date: string }
}

export type ResultInput = Omit<BenchResult, 'pass' | 'environment'>

/** Computes `pass` from the measured ratios, writes `bench/results/<name>.json` and returns the result. */
export function writeResult(input: ResultInput): BenchResult
/** @deprecated the positional form, without config; pass one object instead. */
export function writeResult(
  name: string,
  metrics: BenchResult['metrics'],
  ratios: BenchResult['ratios'],
  targets: BenchResult['targets'],
  cpus?: number,
  config?: BenchResult['config'],
): BenchResult
export function writeResult(
  first: ResultInput | string,
  metrics?: BenchResult['metrics'],
  ratios?: BenchResult['ratios'],
  targets?: BenchResult['targets'],
  cpuCount?: number,
  config?: BenchResult['config'],
): BenchResult {
  const input: ResultInput =
    typeof first === 'string'
      ? { name: first, config: config ?? {}, metrics: metrics ?? {}, ratios: ratios ?? {}, targets: targets ?? {} }
      : first
  const result: BenchResult = {
    name: input.name,
    config: input.config,
    metrics: input.metrics,
    ratios: input.ratios,
    targets: input.targets,
    pass: passes(input.ratios, input.targets),
    ...(input.labels ? { labels: input.labels } : {}),
    ...(input.scaling ? { scaling: input.scaling } : {}),
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpuCount ?? cpus().length,
      date: new Date().toISOString(),
    },
  }
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, `${input.name}.json`), `${JSON.stringify(result, null, 2)}\n`)
  printVerdict(result)
  return result
}

/** Prints every ratio with its target (or "reported") and whether it is met. */
export function printVerdict(result: BenchResult): void {
  const rows = Object.entries(result.ratios).map(([key, value]) => {
    const target = result.targets[key]
    return {
      ratio: key,
      measured: value,
      target: target ?? 'reported',
      '': target === undefined ? '' : meets(value, target) ? 'pass' : 'FAIL',
    }
  })
  if (rows.length > 0) printTable(`${result.name}: ratios`, rows)
  console.log(`\n${result.name}: ${result.pass ? 'pass' : 'FAIL'} (bench/results/${result.name}.json)`)
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {})
  const cell = (v: string | number) =>
    typeof v === 'number'
      ? Number.isNaN(v)
        ? '–'
        : v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1 })
      : v
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]!).length)))
  const line = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')
  console.log(`\n${title}`)
  console.log(line(columns))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]!))))
}

export interface InterleaveOptions {
  rounds: number
  warmup: number
  /** Runs after each contender, untimed (e.g. deletes its rows). */
  after?: (name: string) => Promise<unknown>
  /** Runs before each contender, untimed (e.g. inserts what it deletes). */
  before?: (name: string) => Promise<unknown>
}

/**
 * Times each contender once per round, rounds after warm-up kept. The order rotates every round so that
 * no contender always runs first (or right after the same one): machine noise spreads over all alike.
 * Returns the samples (ms) by contender.
 */
export async function interleave(
  contenders: Record<string, () => Promise<unknown>>,
  { rounds, warmup, after, before }: InterleaveOptions,
): Promise<Record<string, number[]>> {
  const names = Object.keys(contenders)
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < warmup + rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!)
    for (const name of round % 2 ? order.reverse() : order) {
      await before?.(name)
      const start = process.hrtime.bigint()
      await contenders[name]!()
      const ms = elapsedMs(start)
      if (round >= warmup) samples[name]!.push(ms)
      await after?.(name)
    }
  }
  return samples
}

/** The median of each contender's samples. */
export const medians = (samples: Record<string, number[]>): Record<string, number> =>
  Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
