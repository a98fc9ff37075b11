import { inject } from 'vitest'
import { checkConfig, type Isolation, type LeaklessConfig, type ResolvedConfig } from '../config/index.js'
import { ConfigError } from '../errors.js'
import { PROVIDED_CONFIG_KEY } from './provided-config.js'

/**
 * The isolation mode a `leaklessTest()` builds its fixtures for, known when the test is defined: the
 * test's own `config.isolation`, else the global setup's configuration, else `'shared'`.
 */
export function isolationAtDefinition(overrides: LeaklessConfig | undefined): Isolation {
  if (overrides?.isolation !== undefined) return checkConfig({ isolation: overrides.isolation }, null).isolation!
  const provided = (inject as (key: string) => ResolvedConfig | undefined)(PROVIDED_CONFIG_KEY)
  return provided?.isolation ?? 'shared'
}

/** Fails when the configuration the file resolved asks for another mode than its fixtures were built for. */
export function checkResolvedIsolation(config: ResolvedConfig, built: Isolation): void {
  const wanted = config.isolation ?? 'shared'
  if (wanted === built) return
  throw new ConfigError(
    'ISOLATION_UNSUPPORTED',
    `${config.file ?? 'leakless.config.ts'} sets isolation: '${wanted}', but leaklessTest() of leakless/vitest was defined before it could read the file (no global setup provided the configuration), so its fixtures were built for '${built}'. Add globalSetup: ['leakless/vitest/global-setup'] to vitest.config.ts, or pass leaklessTest({ config: { isolation: '${wanted}' } }).`,
    { details: { file: config.file, isolation: wanted } },
  )
}
