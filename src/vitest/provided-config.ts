import { checkConfig, type LeaklessConfig, type ResolvedConfig } from '../config/index.js'

/** Key under which the global setup provides the run's resolved configuration to the test workers. */
export const PROVIDED_CONFIG_KEY = 'leakless:config'

/** The configuration as Vitest can send it to workers (structured clone): without functions. */
export function toProvided(config: ResolvedConfig): ResolvedConfig {
  if (!config.embedded) return config
  const { onLog: _onLog, ...embedded } = config.embedded
  return { ...config, embedded }
}

/**
 * A worker's configuration: the one the global setup resolved (no config file loaded again in every
 * worker), with the test's own options over it.
 */
export function withOverrides(provided: ResolvedConfig, overrides: LeaklessConfig | undefined): ResolvedConfig {
  return overrides === undefined ? provided : { ...provided, ...checkConfig(overrides, null) }
}
