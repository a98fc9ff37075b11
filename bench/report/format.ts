/** How the report writes figures: ratios as `0.51×`, times with their unit, targets as `≤ 1.3×`. */
import { meets, type BenchResult } from '../lib/measure.js'

/** A number with about three significant digits and thousands separators (`1,234`, `12.3`, `0.123`). */
export function num(value: number): string {
  if (!Number.isFinite(value)) return '–'
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

/** The unit of a ratio key: `…Seconds` are times in seconds, `…Ms` in milliseconds, the rest ratios. */
export function unitOf(key: string): '×' | ' s' | ' ms' {
  return /Seconds$/.test(key) ? ' s' : /Ms$/.test(key) ? ' ms' : '×'
}

export const ratioText = (key: string, value: number) => `${num(value)}${unitOf(key)}`

/** `<= 1.3` → `≤ 1.3×` (or `≤ 3 s`). */
export function targetText(key: string, target: string | undefined): string {
  if (target === undefined) return 'reported'
  const m = /^(>=|<=)\s*([0-9.]+)$/.exec(target)
  return m ? `${m[1] === '>=' ? '≥' : '≤'} ${m[2]}${unitOf(key)}` : target
}

/** 'pass', 'missed' or 'reported' for one ratio. */
export function verdict(result: BenchResult, key: string): 'pass' | 'missed' | 'reported' {
  const target = result.targets[key]
  if (target === undefined) return 'reported'
  return meets(result.ratios[key]!, target) ? 'pass' : 'missed'
}

/** The words for a ratio: its label, else its key. */
export const labelOf = (result: BenchResult, key: string) => result.labels?.[key] ?? key

/** The target's number, for a chart's marker. */
export function targetValue(target: string | undefined): number | null {
  const m = target === undefined ? null : /([0-9.]+)$/.exec(target)
  return m ? Number(m[1]) : null
}

/** Ratios in order: those with targets first, then the reported ones, each in the result's order. */
export function orderedRatios(result: BenchResult): string[] {
  const keys = Object.keys(result.ratios)
  return [...keys.filter((k) => k in result.targets), ...keys.filter((k) => !(k in result.targets))]
}

/** `2026-12-02` of an ISO date. */
export const day = (iso: string | undefined) => (iso ?? '').slice(0, 10)
