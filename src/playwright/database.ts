import type { LeaklessConfig } from '../config/define-config.js'
import { loadConfig } from '../config/load-config.js'
import { ConnectionError } from '../errors.js'
import { startEmbedded } from '../db/embedded.js'
import { configuredUrl } from '../lifecycle/config-options.js'

export interface StartDatabaseOptions {
  /** Options that override `leakless.config.ts`. */
  config?: LeaklessConfig
  /** Where `leakless.config.*` is searched. @default process.cwd() */
  cwd?: string
  /** @default process.env */
  env?: NodeJS.ProcessEnv
}

/**
 * The run's database URL, ready before Playwright starts `webServer` (which it does before
 * `globalSetup`): the configured `databaseUrl`, else `DATABASE_URL` / `LEAKLESS_DATABASE_URL`, else
 * the embedded PostgreSQL, started now or attached to. Sets `DATABASE_URL` and
 * `LEAKLESS_DATABASE_URL` so that the app server, the global setup and the workers all use it. Call
 * it at the top of `playwright.config.ts`; in worker processes, which load the config too, it only
 * reads the URL the main process set. An embedded server started here stops when the Playwright
 * process exits, after the app server.
 *
 * @example
 * const databaseUrl = await startDatabase()
 * export default defineConfig({
 *   webServer: { command: 'node server.js', url: 'http://127.0.0.1:3000', env: { DATABASE_URL: databaseUrl } },
 * })
 */
export async function startDatabase(options: StartDatabaseOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const config = await loadConfig({
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.config ? { overrides: options.config } : {}),
  })
  let url = configuredUrl(config, env)
  if (!url) {
    if (config.embedded === false) {
      throw new ConnectionError(
        'DB_UNREACHABLE',
        'startDatabase(): no database configured: DATABASE_URL is not set and the embedded PostgreSQL is disabled (embedded: false in leakless.config.ts). Set DATABASE_URL, or databaseUrl in leakless.config.ts.',
      )
    }
    const server = await startEmbedded({ dataDir: env.LEAKLESS_PG_DIR || undefined, ...config.embedded })
    url = server.url
  }
  env.DATABASE_URL ||= url
  env.LEAKLESS_DATABASE_URL ||= url
  return url
}
