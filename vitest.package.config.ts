import { defineConfig } from 'vitest/config'

/** The packed-tarball check: run by .ci/run after `npm test` (it builds, packs and installs). */
export default defineConfig({
  test: {
    name: 'package',
    include: ['test/package/**/*.test.ts'],
    globalSetup: ['test/package/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
