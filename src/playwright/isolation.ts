import type { LeaklessConfig } from '../config/define-config.js'
import { ConfigError } from '../errors.js'

/**
 * Refuses an isolation mode that cannot work under Playwright: with `'transaction'`, a test's rows would
 * stay uncommitted on the worker's connection, which the app server, reading through its own, never sees;
 * `'schema'` and `'database'` give each worker a store of its own, which only an app started for that
 * worker (`use: { appServer }`) can be pointed at.
 */
export function checkPlaywrightIsolation(config: LeaklessConfig, where: string, appServer?: unknown): void {
  if (config.isolation === 'transaction') {
    throw new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `isolation: 'transaction' (${where}) cannot work in leakless/playwright: each test's rows would stay in a transaction that is never committed, and the app server, which reads through its own connections, cannot see uncommitted rows. Use isolation: 'shared' (the default) for end-to-end tests, e.g. leaklessTest({ config: { isolation: 'shared' } }) when leakless.config.ts sets 'transaction' for Vitest.`,
      { details: { isolation: config.isolation, where } },
    )
  }
  if ((config.isolation === 'schema' || config.isolation === 'database') && appServer === undefined) {
    throw new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `isolation: '${config.isolation}' (${where}) gives each Playwright worker a ${config.isolation} of its own, and a shared app server (webServer) would not see it. Start the app per worker: use: { appServer: { command: 'node server.js', health: '/health' } } in the same project (the app gets DATABASE_URL pointing at the worker's ${config.isolation}), or keep isolation: 'shared' for this project.`,
      { details: { isolation: config.isolation, where } },
    )
  }
}
