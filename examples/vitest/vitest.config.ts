import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * The booking app's integration tests: `npx vitest run --config examples/vitest/vitest.config.ts`
 * (after `npm run build`: `leakless/vitest` is the built package). Standalone: root is this folder,
 * whatever the working directory, so `leakless.config.ts` here is found.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    // `npm run demo -- --leak` adds a test that leaks on purpose.
    include: ['**/*.test.ts', ...(process.env.LEAKLESS_DEMO_LEAK === '1' ? ['leaky/*.leak.ts'] : [])],
    // The database (DATABASE_URL, else the embedded PostgreSQL), migrations, LEAKLESS_RUN, the run's audit.
    globalSetup: ['leakless/vitest/global-setup'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
