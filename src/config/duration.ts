const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^(0|[1-9][0-9]*)(s|m|h|d)$/

/** The accepted forms, for help texts and error messages. */
export const DURATION_FORMS = '30s, 15m, 1h, 2d or 0'

/** Parses `30s`, `15m`, `1h`, `2d` or `0` into milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0
  const m = DURATION.exec(text)
  if (m === null) return null
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  return Number.isSafeInteger(ms) ? ms : null
}

/** A duration in the largest unit that divides it: `90m` → `90m`, 3 600 000 → `1h`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0'
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}
