import type { LeaklessConfig } from '../config/define-config.js'
import { ConfigError } from '../errors.js'

/**
 * Refuses an isolation mode that cannot work under Playwright: with `'transaction'`, a test's rows would
 * stay uncommitted on the worker's connection, which the app server, reading through its own, never sees.
 */
export function checkPlaywrightIsolation(config: LeaklessConfig, where: string): void {
  if (config.isolation !== 'transaction') return
  throw new ConfigError(
    'ISOLATION_UNSUPPORTED',
    `isolation: 'transaction' (${where}) cannot work in leakless/playwright: each test's rows would stay in a transaction that is never committed, and the app server, which reads through its own connections, cannot see uncommitted rows. Use isolation: 'shared' (the default) for end-to-end tests, e.g. leaklessTest({ config: { isolation: 'shared' } }) when leakless.config.ts sets 'transaction' for Vitest.`,
    { details: { isolation: config.isolation, where } },
  )
}
