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
  // Maps point at src/, which the package ships: stack traces (--enable-source-maps) and debuggers open real
  // files, and the maps need not carry a second copy of the sources.
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false
  },
  splitting: true,
  shims: true,
})
