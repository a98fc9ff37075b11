import { join, resolve } from 'node:path'
import { spawnReadyChild, type ReadyChild } from './ready-child.js'

const childScript = join(resolve(import.meta.dirname, '../..'), 'test/integration/fixtures/isolated-child.ts')

/**
 * A child process whose run context (isolation `isolation`, run `runTag`) holds its lease and made one
 * user; `ready` resolves its process prefix. End its stdin to close it, SIGKILL it to crash it.
 */
export function spawnIsolatedChild(runTag: string, isolation: 'schema' | 'database', migrations: string): ReadyChild {
  const env = { ...process.env, LEAKLESS_RUN: runTag, MIGRATIONS: migrations, ISOLATION: isolation }
  return spawnReadyChild(['--import', 'tsx', childScript], env, `${isolation} child`)
}
