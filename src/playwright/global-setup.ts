import { dirname } from 'node:path'
import type { FullConfig } from '@playwright/test'
import { startGlobalRun } from '../lifecycle/global-run.js'
import { holdGlobalRun, teardownGlobalRun } from './pending-run.js'

/**
 * Playwright's `globalSetup` for leakless: loads `leakless.config.ts` (searched from the Playwright
 * config's folder), connects (starting the embedded PostgreSQL when no URL is set), applies the
 * migrations once, sets `LEAKLESS_RUN` (and `LEAKLESS_SHARD` under `--shard`) for the workers and sweeps
 * dead runs. It returns the run's teardown, which Playwright calls after the last test: it sweeps
 * workers of this run that crashed, audits the run (this shard's part) and fails the run on leaks.
 * Listing `leakless/playwright/global-teardown` as well is optional and changes nothing.
 *
 * @example
 * // playwright.config.ts
 * export default defineConfig({
 *   globalSetup: 'leakless/playwright/global-setup',
 *   globalTeardown: 'leakless/playwright/global-teardown',
 * })
 */
export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const run = await startGlobalRun({
    ...(config.configFile ? { cwd: dirname(config.configFile) } : {}),
    ...(config.shard ? { shard: config.shard.current } : {}),
  })
  holdGlobalRun(run)
  return async () => {
    await teardownGlobalRun()
  }
}
