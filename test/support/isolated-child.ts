import { spawn, type ChildProcess } from 'node:child_process'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const childScript = join(root, 'test/integration/fixtures/isolated-child.ts')

/**
 * A child process whose run context (isolation `isolation`, run `runTag`) holds its lease and made one
 * user; `ready` resolves its process prefix. End its stdin to close it, SIGKILL it to crash it.
 */
export function spawnIsolatedChild(
  runTag: string,
  isolation: 'schema' | 'database',
  migrations: string,
): { child: ChildProcess; ready: Promise<string> } {
  const env = { ...process.env, LEAKLESS_RUN: runTag, MIGRATIONS: migrations, ISOLATION: isolation }
  const child = spawn(process.execPath, ['--import', 'tsx', childScript], { cwd: root, env, stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const ready = new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const m = /^READY (\S+)$/m.exec(stdout)
      if (m) done(m[1]!)
    })
    child.once('exit', (code, signal) =>
      fail(new Error(`${isolation} child exited (${code ?? signal}) before READY: ${stderr}`)),
    )
  })
  return { child, ready }
}
