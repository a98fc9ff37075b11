import { quote } from './quote.js'

/** Which runner's wiring `init` writes or prints. */
export type InitRunner = 'vitest' | 'playwright' | 'both'
export const INIT_RUNNERS: readonly InitRunner[] = ['vitest', 'playwright', 'both']

/** `leakless.config.ts`: the migrations folder when there is one, and the schemas the tables live in. */
export function configSource(options: { migrations: string | null; schemas: string[] }): string {
  const lines = [
    options.migrations === null
      ? "  // migrations: './drizzle', // drizzle-kit's output: the global setup applies it once per run"
      : `  // drizzle-kit's output: the global setup applies it once per run\n  migrations: ${quote(options.migrations)},`,
  ]
  if (options.schemas.length > 1 || options.schemas[0] !== 'public') {
    lines.push(`  // where cleanup and the audit look for rows\n  schemas: [${options.schemas.map(quote).join(', ')}],`)
  }
  return `import { defineConfig } from 'leakless'\n\nexport default defineConfig({\n${lines.join('\n')}\n})\n`
}

/** The module Vitest's `globalSetup` names. */
export const VITEST_SETUP = 'leakless/vitest/global-setup'

/** A `vitest.config.ts` for a project that has none. */
export const VITEST_CONFIG = `import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // leakless: starts or finds the database, shares the run with the workers, sweeps dead runs, audits the run
    globalSetup: ['leakless/vitest/global-setup'],
  },
})
`

/** What to add to an existing `vitest.config.ts`. */
export const VITEST_SNIPPET = `// vitest.config.ts, in test: { … }
globalSetup: ['leakless/vitest/global-setup'],`

/** What to add to `playwright.config.ts`. */
export const PLAYWRIGHT_SNIPPET = `// playwright.config.ts, in defineConfig({ … })
globalSetup: 'leakless/playwright/global-setup',
globalTeardown: 'leakless/playwright/global-teardown',`

/** The runner-native `test` with the generated factories, for a fixtures file next to the tests. */
export function fixturesSnippet(runner: 'vitest' | 'playwright', factoriesImport: string): string {
  return `import { leaklessTest } from 'leakless/${runner}'
import { factories } from ${quote(factoriesImport)}

export const test = leaklessTest({ factories })`
}
