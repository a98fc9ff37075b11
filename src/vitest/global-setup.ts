import type { TestProject } from 'vitest/node'
import type { LeaklessConfig } from '../config/index.js'
import { startGlobalRun, type GlobalRun } from '../lifecycle/index.js'
import { PROVIDED_CONFIG_KEY, toProvided } from './provided-config.js'

/** Options of {@link leaklessGlobalSetup}. */
export interface LeaklessGlobalSetupOptions {
  /** Options over `leakless.config.ts`, for the whole run (the workers get the merged configuration). @default none */
  config?: LeaklessConfig
  /** Where `leakless.config.*` is searched. @default the Vitest project's root */
  cwd?: string
}

/** A Vitest global setup function: takes the project, returns the teardown. */
export type VitestGlobalSetup = (project: TestProject) => Promise<() => Promise<void>>

// One run per Vitest process, shared by every project that lists the global setup (each project
// loads the module anew, hence globalThis); the last project's teardown ends it.
const SHARED = Symbol.for('leakless.vitestGlobalRun')
interface SharedRun {
  run: Promise<GlobalRun>
  users: number
}
type SharedGlobal = typeof globalThis & { [SHARED]?: SharedRun }

/**
 * The global setup of a Vitest run: loads `leakless.config.ts`, connects (starting the embedded
 * PostgreSQL when there is no `DATABASE_URL`), applies `migrations`, sets `LEAKLESS_RUN`,
 * `DATABASE_URL`, `LEAKLESS_SHARD` (from `--shard`) and `LEAKLESS_CONFIG` for the test workers,
 * provides them the resolved configuration, and sweeps dead runs. Its teardown audits the run:
 * leaks are printed, and with `onLeak: 'fail'` the Vitest process exits with code 1 (Vitest ignores
 * a global teardown that throws).
 *
 * @example
 * // vitest.global-setup.ts, listed in `test.globalSetup`
 * import { leaklessGlobalSetup } from 'leakless/vitest/global-setup'
 * export default leaklessGlobalSetup({ config: { sweep: { olderThan: '2h' } } })
 */
export function leaklessGlobalSetup(options: LeaklessGlobalSetupOptions = {}): VitestGlobalSetup {
  return async function setup(project) {
    const g = globalThis as SharedGlobal
    const shared = (g[SHARED] ??= { run: start(project, options), users: 0 })
    shared.users++
    let run: GlobalRun
    try {
      run = await shared.run
    } catch (error) {
      if (--shared.users === 0) delete g[SHARED]
      throw error
    }
    // Workers take the configuration resolved here rather than each loading leakless.config.ts.
    project.provide(PROVIDED_CONFIG_KEY as never, toProvided(run.config) as never)
    return async () => {
      if (--shared.users > 0) return
      delete g[SHARED]
      await finish(run)
    }
  }
}

async function start(project: TestProject, options: LeaklessGlobalSetupOptions): Promise<GlobalRun> {
  const shard = project.vitest.config.shard?.index
  const run = await startGlobalRun({
    cwd: options.cwd ?? project.config.root,
    ...(options.config ? { config: options.config } : {}),
    ...(shard === undefined ? {} : { shard }),
  })
  // For processes the tests start (an app server, the CLI), which search from their own directory.
  if (run.config.file !== null && !process.env.LEAKLESS_CONFIG) process.env.LEAKLESS_CONFIG = run.config.file
  return run
}

async function finish(run: GlobalRun): Promise<void> {
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR
  try {
    const report = await run.teardown({ color })
    if (report.clean) return
    if (report.onLeak === 'warn') {
      console.warn(`${report.message}\nleakless: reported only (onLeak: 'warn').`)
      return
    }
    console.error(`${report.message}\nleakless: the run fails (onLeak: 'fail').`)
    process.exitCode = 1
  } catch (error) {
    console.error(`leakless: the run's teardown failed, so the run fails:`, error)
    process.exitCode = 1
  }
}

/**
 * The default export, for `globalSetup: ['leakless/vitest/global-setup']` in `vitest.config.ts`.
 *
 * @example
 * export default defineConfig({ test: { globalSetup: ['leakless/vitest/global-setup'] } })
 */
const globalSetup: VitestGlobalSetup = leaklessGlobalSetup()
export default globalSetup
