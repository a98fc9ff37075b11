import { loadConfig, type ResolvedConfig } from '../config/index.js'
import { connect } from '../db/connect.js'
import type { Database } from '../db/database.js'
import { connectOptionsOf } from '../lifecycle/config-options.js'
import type { CliIo } from './io.js'

/** `leakless.config.ts` (or `--config <file>`), and the database it names. */
export async function openConfigured(
  io: CliIo,
  file: string | undefined,
): Promise<{ config: ResolvedConfig; db: Database }> {
  const config = await loadConfig({ env: io.env, ...(file ? { file } : {}) })
  const db = await connect({ ...connectOptionsOf(config), env: io.env })
  return { config, db }
}
