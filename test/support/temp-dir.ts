import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A new temporary directory in memory (`/dev/shm`) where there is one, else in the OS temp dir: tests
 * that create thousands of claim files spend seconds on a disk-backed /tmp and milliseconds in tmpfs.
 */
export function memoryTempDir(prefix: string): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix))
}
