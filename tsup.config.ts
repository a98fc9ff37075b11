import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'cli/index': 'src/cli/index.ts',
    'vitest/index': 'src/vitest/index.ts',
    'vitest/global-setup': 'src/vitest/global-setup.ts',
    'playwright/index': 'src/playwright/index.ts',
    'playwright/global-setup': 'src/playwright/global-setup.ts',
    'playwright/global-teardown': 'src/playwright/global-teardown.ts',
  },
  format: ['esm', 'cjs'],
  target: 'node20',
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  shims: true,
})
