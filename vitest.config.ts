import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        test: { name: 'reliability', include: ['test/reliability/**/*.test.ts'], testTimeout: 120_000 },
      },
    ],
  },
})
