import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isProcessAlive } from '../db/file-lock.js'

/** The server a data directory's `postmaster.pid` names: pid (line 1) and port (line 4). */
export interface Postmaster {
  pid: number
  port: number | null
}

export const postmasterPidFile = (dataDir: string) => join(dataDir, 'postmaster.pid')

export function readPostmaster(dataDir: string): Postmaster | null {
  let lines: string[]
  try {
    lines = readFileSync(postmasterPidFile(dataDir), 'utf8').split('\n')
  } catch {
    return null
  }
  const pid = Number.parseInt(lines[0] ?? '', 10)
  const port = Number.parseInt(lines[3] ?? '', 10)
  return Number.isInteger(pid) && pid > 0 ? { pid, port: Number.isInteger(port) ? port : null } : null
}

/**
 * The live postmaster of a data directory, or null. A pid left by a killed server may have been reused:
 * where /proc tells (Linux), a process that is not PostgreSQL does not count.
 */
export function livePostmaster(dataDir: string): Postmaster | null {
  const postmaster = readPostmaster(dataDir)
  if (postmaster === null || !isProcessAlive(postmaster.pid)) return null
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${postmaster.pid}/cmdline`, 'utf8')
  } catch {
    return postmaster // no /proc: trust the pid
  }
  return cmdline.includes('postgres') ? postmaster : null
}

/** Polls until `done()` or the timeout; true when done. */
export async function waitFor(done: () => boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (done()) return true
    if (Date.now() >= deadline) return false
    await sleep(intervalMs)
  }
}

/** True once the data directory has no postmaster.pid (PostgreSQL removes it last when it stops). */
export const postmasterGone = (dataDir: string) => () => !existsSync(postmasterPidFile(dataDir))
