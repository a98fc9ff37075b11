import { teardownGlobalRun } from './pending-run.js'

/**
 * Playwright's `globalTeardown` for leakless: the teardown of the run `leakless/playwright/global-setup`
 * started, if the setup's own returned teardown has not run it yet (Playwright calls that one
 * first). Sweeps workers of this run that crashed, audits the run's rows (this shard's part), deletes
 * what is left, prints the report and fails the run on leaks (`onLeak: 'fail'`, the default).
 *
 * @example
 * // playwright.config.ts
 * export default defineConfig({
 *   globalSetup: 'leakless/playwright/global-setup',
 *   globalTeardown: 'leakless/playwright/global-teardown',
 * })
 */
export default async function globalTeardown(): Promise<void> {
  await teardownGlobalRun()
}
