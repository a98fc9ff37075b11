import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** A lock whose holder has been gone this long is stale even if its pid was reused. */
const STALE_AFTER_MS = 120_000

/** @internal True when a process with this pid exists (also when it belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * @internal Runs `fn` while holding an exclusive lock file (created with O_EXCL, holding our pid),
 * across processes. A lock whose pid is dead is removed; `onTimeout` builds the error after `timeoutMs`.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: { timeoutMs: number; onTimeout: (holder: number | null) => Error },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' })
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = readHolder(path)
    if (holder.stale) {
      removeStale(path)
      continue
    }
    if (Date.now() > deadline) throw options.onTimeout(holder.pid)
    await sleep(25 + Math.random() * 25)
  }
  try {
    return await fn()
  } finally {
    rmSync(path, { force: true })
  }
}

function readHolder(path: string): { pid: number | null; stale: boolean } {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    const age = Date.now() - statSync(path).mtimeMs
    // An empty file is a holder between its create and its write: stale only once old.
    if (Number.isNaN(pid)) return { pid: null, stale: age > STALE_AFTER_MS }
    return { pid, stale: !isProcessAlive(pid) || age > STALE_AFTER_MS }
  } catch {
    return { pid: null, stale: false } // gone meanwhile: just retry
  }
}

function removeStale(path: string): void {
  // Rename first so two processes that both saw the stale lock cannot both delete a fresh one by path.
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    renameSync(path, aside)
  } catch {
    return
  }
  const { stale } = readHolder(aside)
  if (!stale) {
    // We moved a live holder's fresh lock: put it back unless yet another one appeared (postgres' own
    // postmaster.pid still keeps two servers off one data directory).
    try {
      linkSync(aside, path)
    } catch {
      // keep the newer lock
    }
  }
  rmSync(aside, { force: true })
}
