import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

/** A child process that prints `READY <text>` once it is set up. */
export interface ReadyChild {
  child: ChildProcess
  /** What the child printed after `READY `; rejects when it exits first, with its stderr. */
  ready: Promise<string>
  /** Resolves once the child exited and its output is complete. */
  closed: Promise<void>
  stdout(): string
  stderr(): string
}

/**
 * Starts `node …args` in the repository with exactly `env`. Its stdin stays an open pipe: a child that
 * waits on it leaves on its own when the test process goes away.
 */
export function spawnReadyChild(args: string[], env: NodeJS.ProcessEnv, label = 'child'): ReadyChild {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const closed = new Promise<void>((done) => child.once('close', () => done()))
  const ready = new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const m = /^READY (.+)$/m.exec(stdout)
      if (m) done(m[1]!)
    })
    child.once('exit', (code, signal) => fail(new Error(`${label} exited (${code ?? signal}) before READY: ${stderr}`)))
  })
  return { child, ready, closed, stdout: () => stdout, stderr: () => stderr }
}
