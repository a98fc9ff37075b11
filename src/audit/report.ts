import { relative, isAbsolute, sep } from 'node:path'
import { LeakError } from '../errors.js'
import type { DecodedId } from '../ids/decode.js'
import type { AuditReport, LeakRow } from './types.js'

/** How {@link formatAuditReport} renders. */
export interface FormatOptions {
  /** ANSI colours. @default false */
  color?: boolean
  /** Callers under this directory are shown relative to it. @default process.cwd() */
  cwd?: string
}

/** An {@link AuditReport} as plain JSON: dates as ISO strings, bigints as strings. */
export interface AuditJson {
  prefix: string
  clean: boolean
  durationMs: number
  tables: Record<string, number>
  truncated: string[]
  rows: Array<
    Omit<LeakRow, 'key' | 'provenance'> & {
      key: Record<string, unknown>
      provenance: (Omit<DecodedId, 'time'> & { time: string }) | null
    }
  >
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const
type Style = keyof typeof ANSI

/**
 * Renders a report as a terminal table: a header line, then one block per table with its rows grouped
 * by the test that created them (key, tag or foreign key, worker/pid, `file:line`, age).
 *
 * @example
 * console.log(formatAuditReport(await audit({ db, runTag: run.runTag }), { color: process.stdout.isTTY }))
 */
export function formatAuditReport(report: AuditReport, options: FormatOptions = {}): string {
  const paint = (style: Style, text: string) => (options.color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text)
  const cwd = options.cwd ?? process.cwd()
  const byTable = groupBy(report.rows, (r) => r.table)
  if (report.clean) return paint('green', `leakless audit ${report.prefix}: clean`)
  const lines = [
    paint(
      'red',
      paint(
        'bold',
        `leakless audit ${report.prefix}: ${plural(report.rows.length, 'row')} left in ${plural(byTable.size, 'table')}`,
      ),
    ),
  ]
  for (const [table, rows] of byTable) {
    const more = report.truncated.includes(table) ? `, more not shown` : ''
    lines.push('', `${paint('bold', table)} (${plural(rows.length, 'row')}${more})`)
    const cells = rows.map((row) => [
      keyText(row.key),
      matchText(row),
      whoText(row.provenance),
      whereText(row, cwd),
      formatAge(row.ageMs),
    ])
    const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => c[i]!.length)))
    const byTest = groupBy(
      rows.map((row, i) => ({ row, cells: cells[i]! })),
      ({ row }) => row.test ?? '',
    )
    for (const [test, group] of [...byTest].sort(([a], [b]) => Number(a === '') - Number(b === ''))) {
      lines.push(`  ${test === '' ? paint('dim', '(no test recorded)') : paint('yellow', `test "${test}"`)}`)
      for (const { cells: c } of group) {
        const [key, match, who, where, age] = c.map((text, i) => (i < 4 ? text.padEnd(widths[i]!) : text))
        lines.push(
          `    ${key}  ${paint('cyan', match!)}  ${paint('dim', who!)}  ${where}  ${paint('dim', age!)}`.trimEnd(),
        )
      }
    }
  }
  return lines.join('\n')
}

/**
 * A stable, JSON-serialisable form of a report (for `--json` output and CI artifacts).
 *
 * @example
 * writeFileSync('leaks.json', JSON.stringify(auditToJson(report), null, 2))
 */
export function auditToJson(report: AuditReport): AuditJson {
  return {
    prefix: report.prefix,
    clean: report.clean,
    durationMs: Math.round(report.durationMs * 1000) / 1000,
    tables: { ...report.tables },
    truncated: [...report.truncated],
    rows: report.rows.map((row) => ({
      table: row.table,
      key: plain(row.key) as Record<string, unknown>,
      column: row.column,
      tag: row.tag,
      via: row.via,
      provenance: row.provenance === null ? null : { ...row.provenance, time: row.provenance.time.toISOString() },
      test: row.test,
      caller: row.caller,
      factory: row.factory,
      ageMs: row.ageMs,
    })),
  }
}

/**
 * The error a suite fails with when the audit found rows: the report (without colour), which test to
 * fix, and how to remove what is left.
 *
 * @example
 * if (!report.clean) throw leakError(report)
 */
export function leakError(report: AuditReport): LeakError {
  const tests = [...groupBy(report.rows, (r) => r.test ?? '')]
    .filter(([test]) => test !== '')
    .sort(([, a], [, b]) => b.length - a.length)
    .map(([test, rows]) => {
      const caller = rows.find((r) => r.caller !== null)?.caller ?? null
      return caller === null ? `"${test}"` : `"${test}" (${shortPath(caller, process.cwd())})`
    })
  const fix =
    tests.length > 0
      ? `Fix the test${tests.length > 1 ? 's' : ''} that left them: ${tests.join(', ')}. Create rows through factories bound to the test's scope (or start app-created values with scope.id() / scope.email()) so cleanup finds them.`
      : 'No ledger entry names the test that made them: pass the ledger to audit() to see it, or look for rows the app created from tagged input.'
  const remove = `To remove them now: cleanupPrefix(db, '${report.prefix}') while the run is alive, or \`leakless sweep\` once it is dead.`
  return new LeakError('LEAKS_FOUND', `${formatAuditReport(report)}\n\n${fix}\n${remove}`, {
    details: { prefix: report.prefix, tables: { ...report.tables }, rows: report.rows.length },
  })
}

/** Human age: `3s`, `2m`, `1h`, `4d`; `-` when unknown. */
export function formatAge(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-'
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86_400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86_400)}d`
}

function keyText(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([column, value]) => `${column}=${typeof value === 'string' ? value : JSON.stringify(plain(value))}`)
    .join(' ')
}

function matchText(row: LeakRow): string {
  if (row.via !== null) return `via ${row.via}`
  if (row.column !== null) return row.key[row.column] === row.tag ? `tag in ${row.column}` : `${row.column}=${row.tag}`
  return 'ledger row, no tag'
}

function whereText(row: LeakRow, cwd: string): string {
  if (row.caller !== null) return shortPath(row.caller, cwd)
  return row.factory === false ? 'written outside a factory' : '-'
}

function whoText(p: DecodedId | null): string {
  return p === null ? '-' : processLabel(p)
}

/** `s2 w3 p4242` (shard, worker, pid); `#3` for a registry process number when worker and pid are unknown. */
export function processLabel(p: {
  shard: number | null
  worker: number | null
  pid: number | null
  process?: number | null
}): string {
  const shard = p.shard === null ? '' : `s${p.shard} `
  if (p.worker !== null && p.pid !== null) return `${shard}w${p.worker} p${p.pid}`
  return `${shard}#${p.process ?? '?'}`
}

function shortPath(location: string, cwd: string): string {
  if (!isAbsolute(location)) return location
  const rel = relative(cwd, location)
  return rel.startsWith('..') || isAbsolute(rel) ? location : rel.split(sep).join('/')
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = out.get(key)
    if (group === undefined) out.set(key, [item])
    else group.push(item)
  }
  return out
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'bigint') return value.toString()
  if (value === undefined) return null
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}
