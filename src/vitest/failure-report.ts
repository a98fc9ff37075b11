import { isAbsolute, relative, sep } from 'node:path'
import type { LedgerEntry, TestScope } from '../run/index.js'

/** Rows listed per table before the rest is summarised. */
const ROWS_SHOWN = 20

/** What a failed test's `task.meta.leakless` holds: enough to replay its data and find its rows. */
export interface FailedTestMeta {
  seed: number
  prefix: string
  /** Primary keys of the rows the test's factories created, by table. */
  created: Record<string, Array<Record<string, string>>>
  /** Whether the test's cleanup deleted them. */
  cleaned: boolean
}

/** The seed and rows of a failed test, as {@link FailedTestMeta}. */
export function failedTestMeta(scope: TestScope, cleaned: boolean): FailedTestMeta {
  const created: FailedTestMeta['created'] = {}
  for (const [table, entries] of Object.entries(scope.created)) created[table] = entries.map((e) => keyStrings(e))
  return { seed: scope.seed, prefix: scope.prefix, created, cleaned }
}

/**
 * What a failed test prints: how to replay its data (`LEAKLESS_SEED`) and the rows its factories
 * created, with the line that created each.
 */
export function formatFailedTest(
  scope: TestScope,
  cleaned: boolean,
  where: { file: string; test: string },
  removal: 'cleanup' | 'rollback' | 'background' = 'cleanup',
): string {
  const lines = [
    `leakless: test "${scope.name}" failed. Its data came from seed ${scope.seed}; replay it with`,
    `  LEAKLESS_SEED=${scope.seed} npx vitest run ${where.file} -t ${JSON.stringify(where.test)}`,
    `  ids of this test start with ${scope.prefix}`,
  ]
  const tables = Object.entries(scope.created)
  if (tables.length === 0) {
    lines.push('  its factories created no rows')
    return lines.join('\n')
  }
  const fate =
    removal === 'rollback'
      ? " (in the test's transaction, rolled back)"
      : removal === 'background'
        ? " (cleanup: 'background' deletes them after the test; a failure there fails the file)"
        : cleaned
          ? ' (its cleanup deleted them)'
          : ' (its cleanup did not finish: they may still be there)'
  lines.push(`  rows its factories created${fate}:`)
  for (const [table, entries] of tables) {
    lines.push(`    ${table} (${entries.length})`)
    for (const entry of entries.slice(0, ROWS_SHOWN)) lines.push(`      ${rowText(entry)}`)
    if (entries.length > ROWS_SHOWN) lines.push(`      … ${entries.length - ROWS_SHOWN} more`)
  }
  return lines.join('\n')
}

function rowText(entry: LedgerEntry): string {
  const key = Object.entries(keyStrings(entry))
    .map(([column, value]) => `${column}=${value}`)
    .join(' ')
  return entry.caller === null ? key : `${key}  ${shortPath(entry.caller)}`
}

function shortPath(location: string): string {
  const rel = relative(process.cwd(), location)
  return rel.startsWith('..') || isAbsolute(rel) ? location : rel.split(sep).join('/')
}

function keyStrings(entry: LedgerEntry): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [column, value] of Object.entries(entry.key)) {
    out[column] = value instanceof Date ? value.toISOString() : String(value)
  }
  return out
}
