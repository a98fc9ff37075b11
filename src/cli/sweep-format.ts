import type { SweepReport } from '../cleanup/sweep.js'
import { processLabel } from '../audit/report.js'
import { formatDuration } from './duration.js'

/** `leakless sweep --json`: the report with dates as ISO strings and the threshold it ran with. */
export function sweepToJson(report: SweepReport, olderThanMs: number) {
  return {
    dryRun: report.dryRun,
    olderThanMs,
    durationMs: Math.round(report.durationMs * 1000) / 1000,
    swept: report.swept.map((p) => ({ ...p, startedAt: p.startedAt.toISOString() })),
    schemas: report.schemas.map((s) => ({ ...s })),
    skipped: report.skipped.map((s) => ({ ...s })),
    forgotten: [...report.forgotten],
  }
}

/** The human summary: one line per swept process (who, when its run started, rows per table), then what was skipped. */
export function formatSweepReport(report: SweepReport, olderThanMs: number): string {
  const rows = report.swept.reduce((n, p) => n + Object.values(p.deleted).reduce((a, b) => a + b, 0), 0)
  const processes = plural(report.swept.length, 'dead process', 'dead processes')
  const age = olderThanMs === 0 ? 'of any age' : `older than ${formatDuration(olderThanMs)}`
  const lines: string[] = []
  if (report.swept.length === 0) {
    lines.push(`leakless sweep${report.dryRun ? ' (dry run)' : ''}: nothing to sweep (no dead run ${age})`)
  } else {
    const verb = report.dryRun ? 'would delete' : 'deleted'
    lines.push(
      `leakless sweep${report.dryRun ? ' (dry run)' : ''}: ${verb} ${plural(rows, 'row')} of ${processes} (runs ${age})`,
    )
    const prefixWidth = Math.max(...report.swept.map((p) => p.prefix.length))
    for (const p of report.swept) {
      const who = processLabel(p)
      const tables = Object.entries(p.deleted)
        .map(([table, n]) => `${table} ${n}`)
        .join(', ')
      lines.push(
        `  ${p.prefix.padEnd(prefixWidth)}  ${who}  run started ${p.startedAt.toISOString()}  ${tables || 'no rows'}`,
      )
    }
  }
  if (report.schemas.length > 0) {
    lines.push(
      `${report.dryRun ? 'would drop' : 'dropped'} ${plural(report.schemas.length, 'schema')} leakless created for dead processes: ${report.schemas.map((s) => s.name).join(', ')}`,
    )
  }
  if (report.databases.length > 0) {
    lines.push(
      `${report.dryRun ? 'would drop' : 'dropped'} ${plural(report.databases.length, 'database')} leakless created for dead processes: ${report.databases.map((s) => s.name).join(', ')}`,
    )
  }
  if (report.templates.length > 0) {
    lines.push(
      `${report.dryRun ? 'would drop' : 'dropped'} ${plural(report.templates.length, 'template database')} unused for a week: ${report.templates.join(', ')}`,
    )
  }
  if (report.skipped.length > 0) {
    const leased = report.skipped.filter((s) => s.reason === 'lease held').length
    const young = report.skipped.length - leased
    const why = [
      leased > 0 ? `${leased} still running (lease held)` : '',
      young > 0 ? `${young} younger than ${formatDuration(olderThanMs)}` : '',
    ].filter(Boolean)
    lines.push(`skipped ${plural(report.skipped.length, 'process', 'processes')}: ${why.join(', ')}`)
  }
  if (report.forgotten.length > 0) {
    lines.push(
      `removed from the run registry: ${plural(report.forgotten.length, 'finished run')} (${report.forgotten.join(', ')})`,
    )
  }
  return lines.join('\n')
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
