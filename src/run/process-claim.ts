import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { decodeRunTagTime, RUN_TAG_PATTERN } from '../ids/id-format.js'

const PRUNE_AFTER_MS = 7 * 24 * 60 * 60 * 1000
const MAX_REUSE = 999_999

/** Where per-run claim files live: `LEAKLESS_STATE_DIR`, else `<os tmpdir>/leakless`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LEAKLESS_STATE_DIR || join(tmpdir(), 'leakless')
}

function unwritable(dir: string, cause: unknown): ConfigError {
  return new ConfigError(
    'STATE_DIR_UNWRITABLE',
    `leakless could not claim a process slot in ${dir}: ${(cause as Error).message}. Point LEAKLESS_STATE_DIR (or createRun({ stateDir })) at a directory every test process can write.`,
    { cause, details: { dir } },
  )
}

function sharedMkdir(dir: string): boolean {
  const created = mkdirSync(dir, { recursive: true }) !== undefined
  // Sticky and world-writable like /tmp, so root and non-root processes of one run can share it.
  if (created) chmodSync(dir, 0o1777)
  return created
}

/**
 * Claims the process key (shard, worker, pid) for this run on this machine with an exclusive file
 * create, and returns how many earlier claims it had (pid reuse, several contexts per process).
 * `O_EXCL` makes the claim atomic across processes, so process fields are unique by construction.
 */
export function claimProcessSlot(stateDir: string, runTag: string, key: string, info: object): number {
  const runsDir = join(stateDir, 'runs')
  const dir = join(runsDir, runTag)
  try {
    sharedMkdir(stateDir)
    sharedMkdir(runsDir)
    if (sharedMkdir(dir)) pruneOldRuns(runsDir, runTag)
  } catch (cause) {
    throw unwritable(dir, cause)
  }
  for (let reuse = 0; reuse <= MAX_REUSE; reuse++) {
    const file = join(dir, reuse === 0 ? key : `${key}r${reuse}`)
    let fd: number
    try {
      fd = openSync(file, 'wx', 0o644)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw unwritable(dir, cause)
    }
    try {
      writeSync(fd, JSON.stringify({ ...info, claimedAt: new Date().toISOString() }))
    } finally {
      closeSync(fd)
    }
    return reuse
  }
  throw unwritable(dir, new Error(`more than ${MAX_REUSE} claims for ${key}`))
}

// Never the run being claimed: a run older than the cutoff (LEAKLESS_RUN of last week) lost its fresh directory.
function pruneOldRuns(runsDir: string, claiming: string): void {
  const cutoff = Date.now() - PRUNE_AFTER_MS
  try {
    for (const name of readdirSync(runsDir)) {
      if (name !== claiming && RUN_TAG_PATTERN.test(name) && decodeRunTagTime(name).getTime() < cutoff) {
        rmSync(join(runsDir, name), { recursive: true, force: true })
      }
    }
  } catch {
    // Housekeeping only: old claim files hold no data; a failed prune is retried by the next run.
  }
}
