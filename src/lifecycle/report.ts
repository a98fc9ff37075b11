import { formatAuditReport } from '../audit/report.js'
import type { AuditReport } from '../audit/types.js'
import type { SweepReport } from '../cleanup/sweep.js'
import type { CloseReport } from '../run/cleanup-contract.js'

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** Why a worker's close was not clean: late writes, then rows its cleanup could not remove. */
export function formatCloseReport(report: CloseReport, options: { color?: boolean } = {}): string {
  const parts: string[] = []
  if (!report.leftBehind.clean) {
    parts.push(
      `leakless: ${count(report.leftBehind.rows.length, 'row')} appeared after their test's cleanup had run (a late write: a timer, a queue or the app still working after the test ended). The worker's cleanup removed them; make the test wait for that work.`,
      formatAuditReport(report.leftBehind, options),
    )
  }
  if (!report.audit.clean) {
    parts.push(
      `leakless: ${count(report.audit.rows.length, 'row')} of this worker could not be cleaned up and are still in the database.`,
      formatAuditReport(report.audit, options),
    )
  }
  return parts.join('\n')
}

/** What a run's teardown found: rows of workers that never closed (swept), and rows still there after that. */
export function formatTeardownReport(
  swept: SweepReport,
  audit: AuditReport,
  options: { color?: boolean } = {},
): string {
  const parts: string[] = []
  for (const p of swept.swept) {
    const rows = Object.values(p.deleted).reduce((a, b) => a + b, 0)
    if (rows === 0) continue
    const tables = Object.entries(p.deleted)
      .map(([table, n]) => `${table} ${n}`)
      .join(', ')
    parts.push(
      `leakless: ${p.worker === null ? `process ${p.prefix}` : `worker ${p.worker} (pid ${p.pid}${p.shard === null ? '' : `, shard ${p.shard}`})`} left ${count(rows, 'row')} after it ended (it crashed or was killed before closing its run, or something wrote with its ids after that); swept them: ${tables}.`,
    )
  }
  if (!audit.clean) {
    parts.push(
      `leakless: ${count(audit.rows.length, 'row')} of run ${audit.prefix.slice(0, -1)} ${audit.rows.length === 1 ? 'is' : 'are'} still in the database at the end of the run (a process that never registered wrote with its ids, or something wrote after its close); deleted now.`,
      formatAuditReport(audit, options),
    )
  }
  return parts.join('\n')
}
