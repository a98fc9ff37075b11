import type { GlobalRun, RunTeardownReport } from '../lifecycle/global-run.js'
import { LeakError } from '../errors.js'

// On globalThis: Playwright loads global-setup and global-teardown as separate modules, and a second
// copy of the package in the same process must find the same run.
const PENDING = Symbol.for('leakless.playwright.globalRun')
type ProcessGlobal = typeof globalThis & { [PENDING]?: GlobalRun }

/** @internal Keeps the run the global setup started until a teardown takes it. */
export function holdGlobalRun(run: GlobalRun): void {
  ;(globalThis as ProcessGlobal)[PENDING] = run
}

/**
 * @internal Tears down the run the global setup started, once: prints what it found and throws a
 * `LeakError` (Playwright then exits non-zero) when it is not clean and `onLeak` is `'fail'`.
 * Returns null when there is no run to tear down (already done, or no global setup).
 */
export async function teardownGlobalRun(
  log: (text: string) => void = (text) => console.error(text),
): Promise<RunTeardownReport | null> {
  const g = globalThis as ProcessGlobal
  const run = g[PENDING]
  if (run === undefined) return null
  delete g[PENDING]
  const report = await run.teardown({ color: useColor() })
  if (report.clean) return report
  log(report.message)
  if (report.onLeak === 'warn') return report
  const error = new LeakError(
    'LEAKS_FOUND',
    `leakless: run ${report.runTag} left rows in the database: the report above says which and who made them (they have been deleted now). Set onLeak: 'warn' in leakless.config.ts to report them without failing the run.`,
    { details: { runTag: report.runTag } },
  )
  // The report says where; a stack into leakless's own teardown would not.
  error.stack = `${error.name}: ${error.message}`
  throw error
}

function useColor(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.NO_COLOR
}
