import { execFileSync } from 'node:child_process'
import type { TestProject } from 'vitest/node'
import { withFileLock } from '../../src/db/file-lock.js'
import integrationSetup from '../integration/global-setup.js'
import { obtainChromium } from '../support/chromium.js'

/** The adapter suites run the real runners on the built package (`dist/`), as users get it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Found or installed, never skipped: the Playwright projects read it from LEAKLESS_CHROMIUM.
  process.env.LEAKLESS_CHROMIUM = obtainChromium()
  // Two suites building at once would let one load a half-written dist/ (tsup cleans it first).
  await withFileLock('dist.lock', async () => void execFileSync('npx', ['tsup', '--silent'], { stdio: 'inherit' }), {
    timeoutMs: 120_000,
    onTimeout: (pid) => new Error(`another build (pid ${pid}) holds dist.lock`),
  })
  return integrationSetup(project)
}
