/**
 * Runs the real Vitest / Playwright on small projects written under `<repo>/.adapter-runs/`: inside the
 * package, so `import … from 'leakless/vitest'` resolves to the built package (self-reference) and the
 * runners come from the repository's node_modules.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import postgres from 'postgres'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const runsDir = join(repoRoot, '.adapter-runs')

/** Writes `files` (path → content) into a fresh project folder; returns its path. */
export function writeProject(name: string, files: Record<string, string>): string {
  // As if installed: tools that resolve from a folder (Playwright's globalSetup path) find leakless
  // in node_modules; a module's own imports resolve by self-reference to the same dist/.
  const installed = join(runsDir, 'node_modules', 'leakless')
  if (!existsSync(installed)) {
    mkdirSync(dirname(installed), { recursive: true })
    try {
      symlinkSync(repoRoot, installed, 'dir')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  // …and `npx leakless` finds the CLI, as an installed package's bin (npx looks in node_modules/.bin).
  const bin = join(repoRoot, 'node_modules', '.bin', 'leakless')
  if (!existsSync(bin)) symlinkSync('../../dist/cli/index.js', bin)
  chmodSync(join(repoRoot, 'dist', 'cli', 'index.js'), 0o755)
  const dir = join(runsDir, `${name}-${randomBytes(3).toString('hex')}`)
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, content)
  }
  return dir
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout and stderr, ANSI colours removed. */
  output: string
}

/** Runs a command to its end (killed after `timeoutMs`). The environment is `env` over a copy of process.env without the runner's own variables. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<RunResult> {
  const env: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(process.env)) {
    // The outer Vitest's worker variables must not leak into the runner under test.
    if (/^(VITEST|TEST_|LEAKLESS_RUN$|LEAKLESS_SHARD$|NODE_OPTIONS$|FORCE_COLOR$)/.test(key)) continue
    env[key] = value
  }
  Object.assign(env, { NO_COLOR: '1', CI: '1' }, options.env)
  // `undefined` in options.env unsets a variable.
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      stderr += `\n[harness] killed after ${options.timeoutMs} ms`
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }, options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      // eslint-disable-next-line no-control-regex
      const output = `${stdout}\n${stderr}`.replace(/\u001b\[[0-9;]*m/g, '')
      resolve({ code, stdout, stderr, output })
    })
  })
}

/** Rows of the reference tables that belong to a run (tagged, or activity of its users). */
export async function countRunRows(url: string, runTag: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const like = `${runTag}-%`
    const [row] = await sql<Array<Record<string, number>>>`
      select
        (select count(*)::int from users where id like ${like} or email like ${like}) as users,
        (select count(*)::int from sessions where id like ${like}) as sessions,
        (select count(*)::int from bookings where id like ${like}) as bookings,
        (select count(*)::int from activity a join users u on u.id = a.user_id where u.id like ${like}) as activity`
    return row!
  } finally {
    await sql.end()
  }
}

/** Schemas and databases named after the run, and the registry's records of what it created: all empty once it ended. */
export async function runStoresLeft(url: string, runTag: string): Promise<Record<string, string[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name)
    return {
      schemas: names(await sql`select nspname as name from pg_namespace where starts_with(nspname, ${`${runTag}_`})`),
      databases: names(await sql`select datname as name from pg_database where strpos(datname, ${runTag}) > 0`),
      records: names(await sql`select name from leakless.created_resources where run_tag = ${runTag}`),
    }
  } finally {
    await sql.end()
  }
}

/** A new run tag for one runner invocation (what CI would put in LEAKLESS_RUN). */
export { createRunTag } from '../../src/ids/run-tag.js'

/** A TCP port that was free a moment ago (for an app server). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  await new Promise((done) => server.close(done))
  return port
}
