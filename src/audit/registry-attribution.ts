import type { Database } from '../db/database.js'
import { describeProcesses } from '../registry/processes.js'
import type { LeakRow } from './types.js'

/**
 * Fills in what a row's id does not say and the run registry knows: worker and pid behind a short
 * process field, and for a process that had closed, its test's name. A process whose close was clean
 * left none of its factories' rows, so a row of its prefix found later was written outside a factory.
 */
export async function attributeFromRegistry(db: Database, rows: readonly LeakRow[]): Promise<LeakRow[]> {
  const wanted = new Set<string>()
  for (const row of rows) {
    const p = row.provenance
    if (p !== null && (p.worker === null || row.test === null || row.factory === null)) wanted.add(p.processPrefix)
  }
  if (wanted.size === 0) return [...rows]
  const known = await describeProcesses(db, [...wanted])
  return rows.map((row) => {
    const p = row.provenance
    const process = p === null ? undefined : known.get(p.processPrefix)
    if (p === null || process === undefined) return row
    return {
      ...row,
      provenance: { ...p, worker: p.worker ?? process.worker, pid: p.pid ?? process.pid },
      test: row.test ?? process.scopes[p.scope] ?? null,
      factory: row.factory ?? (process.closed && process.clean ? false : null),
    }
  })
}
