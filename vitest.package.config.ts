import { defineConfig } from 'vitest/config'

/** The packed-tarball check: run by .ci/run after `npm test` (it builds, packs and installs). */
export default defineConfig({
  // One file at a time: each builds dist/ and packs it.
  test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 300_000, fileParallelism: false },
})
