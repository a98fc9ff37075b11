import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'
import { withFileLock } from '../../src/db/file-lock.js'
import integrationSetup from '../integration/global-setup.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The packed package (`npm pack` of a fresh build): the scratch projects install it. */
    tarball: string
  }
}

const root = resolve(import.meta.dirname, '../..')

/** Builds and packs once for every package test (each installs the tarball into its own scratch project). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The adapter suites build too: never two builds into one dist/ at once.
  await withFileLock(
    'dist.lock',
    async () => void execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' }),
    {
      timeoutMs: 180_000,
      onTimeout: (pid) => new Error(`another build (pid ${pid}) holds dist.lock`),
    },
  )
  const out = mkdtempSync(join(tmpdir(), 'leakless-pack-'))
  execFileSync('npm', ['pack', '--pack-destination', out], { cwd: root, stdio: 'ignore' })
  project.provide(
    'tarball',
    join(
      out,
      readdirSync(out).find((f) => f.endsWith('.tgz'))!,
    ),
  )
  // The scratch projects' runners need a database: DATABASE_URL, else the embedded PostgreSQL.
  const closeDatabase = await integrationSetup(project)
  return async () => {
    await closeDatabase()
    rmSync(out, { recursive: true, force: true })
  }
}
