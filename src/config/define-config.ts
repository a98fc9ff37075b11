import type { NullableDependentRule } from '../cleanup/delete-plan.js'
import type { EmbeddedOptions } from '../db/embedded.js'

/** What a run does when its audit finds rows a test left behind. */
export type OnLeak = 'fail' | 'warn'

/** An isolation mode of {@link LeaklessConfig}. */
export type Isolation = NonNullable<LeaklessConfig['isolation']>

/** When a test's rows are deleted: see {@link LeaklessConfig.cleanup}. */
export type CleanupMode = NonNullable<LeaklessConfig['cleanup']>

/**
 * Everything `leakless.config.ts` can say. The Vitest and Playwright adapters, their global setups
 * and the CLI read the same file; options passed in code override it.
 */
export interface LeaklessConfig {
  /** PostgreSQL URL. @default `DATABASE_URL`, else `LEAKLESS_DATABASE_URL`, else the embedded PostgreSQL */
  databaseUrl?: string
  /** The embedded PostgreSQL used when no URL is set; `false` requires a URL. @default {} */
  embedded?: EmbeddedOptions | false
  /** Folder of SQL migrations (drizzle-kit's output) the global setup applies once. Relative to the config file. @default none */
  migrations?: string
  /** Domain of generated e-mail addresses. @default 'example.test' */
  emailDomain?: string
  /** Table (`public.users`) → columns that carry tags, besides text primary keys and what factories show. */
  tagColumns?: Record<string, string[]>
  /** Rows that reference owned rows through a nullable FK and carry no tag, per table. @default 'fail' for every table */
  nullableDependents?: Record<string, NullableDependentRule>
  /** Schemas cleanup and the audit look at. @default ['public'] */
  schemas?: string[]
  /** What a leak does to the run. @default 'fail' */
  onLeak?: OnLeak
  /** The sweep of dead runs at global setup: `false` turns it off. */
  sweep?:
    false | { /** Only runs at least this old: `30s`, `15m`, `1h`, `2d` or `0`. @default '1h' */ olderThan?: string }
  /**
   * How a test's rows are kept apart from other tests' (docs/isolation.md): `'shared'` (prefixes on one
   * database), `'transaction'` (each Vitest test rolled back), `'schema'` (a schema per run context,
   * migrated from `migrations`, first on `search_path`) or `'database'` (a database per run context,
   * cloned from a template migrated once). Per Vitest project: `leaklessTest({ config: { isolation } })`;
   * per Playwright project: `use: { isolation }`. @default 'shared'
   */
  isolation?: 'shared' | 'transaction' | 'schema' | 'database'
  /**
   * When a finished test's rows are deleted (docs/cleanup.md, "Cleanup in the background"): `'after-each'`
   * (the test waits for its cleanup) or `'background'` (its cleanup is queued and runs while the worker's
   * next test starts; the worker waits for the queue before its audit, and a cleanup that fails there
   * fails the file or worker, naming the test). Isolation `'transaction'` ignores it (rollback). Per
   * Vitest project: `leaklessTest({ config: { cleanup } })`; per Playwright project: `use: { cleanup }`.
   * @default 'after-each'
   */
  cleanup?: 'after-each' | 'background'
  /** Named allowances for the safety guard (see docs/cleanup.md, "The safety guard"). @default none */
  allow?: { production?: boolean; remote?: boolean; databases?: string[] }
}

/**
 * Declares the project's leakless configuration with its types; the default export of `leakless.config.ts`.
 *
 * @example
 * export default defineConfig({ migrations: './drizzle', onLeak: 'fail' })
 */
export function defineConfig(config: LeaklessConfig): LeaklessConfig {
  return config
}
