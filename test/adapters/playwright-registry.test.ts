/**
 * The run registry (schema `leakless`) with the real Playwright, on an app schema unlike the reference
 * domain (test/fixtures/serial-app.ts: serial keys, tags only in users.email and teams.stripe_customer_id):
 *
 * - an app server that writes a column no factory and no config names (`teams.name = '<email>''s Team'`)
 *   and untagged rows (team_members, activity_logs): discovery finds the column, cleanup removes it all;
 * - two shards on one run tag, one of them SIGKILLed mid-test: `leakless audit --run` from a third
 *   process (no config, no local state) finds exactly the killed shard's rows from the registry, and
 *   `leakless sweep --run` removes them.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { decodeId } from '../../src/index.js'
import { serialApp, serialAppModule } from '../fixtures/serial-app.js'
import { createRunTag, removeProject, repoRoot, run, writeProject, type RunResult } from './harness.js'

const database = inject('database')
const fixture = (name: string) => readFileSync(new URL(`./fixtures/playwright/${name}`, import.meta.url), 'utf8')
const PLAYWRIGHT = `${repoRoot}node_modules/@playwright/test/cli.js`
const CLI = `${repoRoot}dist/cli/index.js`

const suffix = randomBytes(4).toString('hex')
const signUpApp = serialApp(`pw_signup_${suffix}`)
const shardApp = serialApp(`pw_shards_${suffix}`)
const runTags: string[] = []
const dirs: string[] = []
const groups: number[] = []
let sql: postgres.Sql

beforeAll(async () => {
  sql = postgres(database.url, { max: 2, onnotice: () => {} })
  for (const app of [signUpApp, shardApp]) for (const statement of app.ddl) await sql.unsafe(statement)
})

afterAll(async () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  try {
    for (const app of [signUpApp, shardApp]) await sql.unsafe(`drop schema if exists "${app.schema}" cascade`)
    if (await registryExists()) {
      for (const tag of runTags) {
        await sql`delete from leakless.untagged where prefix like ${`${tag}-%`}`
        await sql`delete from leakless.tag_columns where run_tag = ${tag}`
        await sql`delete from leakless.processes where run_tag = ${tag}`
        await sql`delete from leakless.runs where run_tag = ${tag}`
      }
    }
  } finally {
    await sql.end()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
})

async function registryExists(): Promise<boolean> {
  const [row] = await sql<Array<{ exists: boolean }>>`select to_regclass('leakless.meta') is not null as exists`
  return row!.exists
}

/** Every row of every table of the app's schema (serial keys: anything there was made by this file). */
async function tableCounts(schema: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['users', 'teams', 'team_members', 'activity_logs', 'counters']) {
    const [row] = await sql.unsafe<Array<{ n: number }>>(`select count(*)::int as n from "${schema}"."${table}"`)
    out[table] = row!.n
  }
  return out
}

/** What the registry still holds of a run. */
async function registryRows(runTag: string): Promise<Record<string, number>> {
  if (!(await registryExists())) return { runs: 0, processes: 0, tag_columns: 0, untagged: 0 }
  const [row] = await sql<Array<Record<string, number>>>`
    select
      (select count(*)::int from leakless.runs where run_tag = ${runTag}) as runs,
      (select count(*)::int from leakless.processes where run_tag = ${runTag}) as processes,
      (select count(*)::int from leakless.tag_columns where run_tag = ${runTag}) as tag_columns,
      (select count(*)::int from leakless.untagged where prefix like ${`${runTag}-%`}) as untagged`
  return row!
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  await new Promise((done) => server.close(done))
  return port
}

function project(name: string, files: Record<string, string>): string {
  const dir = writeProject(`playwright-registry-${name}`, { 'tsconfig.json': fixture('tsconfig.json'), ...files })
  dirs.push(dir)
  return dir
}

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `leakless-${name}-`))
  dirs.push(dir)
  return dir
}

async function waitFor<T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== null) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T

/** The sign-up app: one transaction writes the user, a team named after the e-mail, a membership and a log line. */
const signUpServer = (
  statements: string[],
) => `// Sign-up: what the app writes on its own, with no factory and no tag but the e-mail typed into the form.
import http from 'node:http'
import process from 'node:process'
import postgres from 'postgres'

const sql = postgres(process.env.DATABASE_URL, { max: 4, onnotice: () => {} })
const SIGN_UP = ${JSON.stringify(statements)}
const escape = (text) => text.replace(/[&<>"']/g, (c) => \`&#\${c.charCodeAt(0)};\`)
const page = (body) => \`<!doctype html><title>app</title>\${body}\`

http
  .createServer(async (req, res) => {
    if (req.url === '/health') return res.end('ok')
    res.setHeader('content-type', 'text/html')
    if (req.method === 'POST' && req.url === '/signup') {
      let body = ''
      for await (const chunk of req) body += chunk
      const email = new URLSearchParams(body).get('email') ?? ''
      try {
        await sql.begin(async (tx) => {
          for (const text of SIGN_UP) await tx.unsafe(text, [email])
        })
        res.end(page(\`<p id="result">Welcome, \${escape(email)}</p>\`))
      } catch (error) {
        res.statusCode = 500
        res.end(page(\`<p id="result">Sign-up failed: \${escape(error.message)}</p>\`))
      }
      return
    }
    res.end(
      page('<form method="post" action="/signup"><input id="email" name="email" type="email" required><button type="submit">Sign up</button></form>'),
    )
  })
  .listen(Number(process.env.APP_PORT), '127.0.0.1')
`

const SIGN_UP_SPEC = `
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import postgres from 'postgres'
import { leaklessTest } from 'leakless/playwright'

// No factories: every row comes from the app, from the e-mail typed into its form.
const test = leaklessTest()

for (const n of [1, 2, 3, 4]) {
  test(\`signs up \${n}\`, async ({ page, scope }) => {
    const email = scope.email('signup')
    await page.goto('/')
    await page.fill('#email', email)
    await page.click('button[type=submit]')
    await expect(page.locator('#result')).toHaveText(\`Welcome, \${email}\`)
  })
}

// After this worker's tests (and their cleanups), before the run's teardown forgets the run: what the
// registry holds about its tag columns.
test.afterAll(async ({ run }, testInfo) => {
  const sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
  try {
    const columns = await sql\`select table_schema || '.' || table_name as "table", column_name as "column", source
      from leakless.tag_columns where run_tag = \${run.runTag} order by 1, 2\`
    const dir = process.env.MARKER_DIR!
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, \`registry-w\${testInfo.workerIndex}-\${process.pid}-\${Date.now()}.json\`), JSON.stringify(columns))
  } finally {
    await sql.end()
  }
})
`

const SHARD_CONFIG = `import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  tsconfig: './tsconfig.json',
  fullyParallel: true,
  workers: 2,
  timeout: 150_000,
  reporter: [['list'], ['json', { outputFile: 'report.json' }]],
  globalSetup: fileURLToPath(import.meta.resolve('leakless/playwright/global-setup')),
  globalTeardown: fileURLToPath(import.meta.resolve('leakless/playwright/global-teardown')),
})
`

/** What one test made, written once all of it is committed. */
interface Made {
  shard: number
  worker: number
  prefix: string
  users: number[]
  teams: number[]
  counters: number[]
}

// 4 tests: with --shard=i/2 each shard runs 2, one per worker. Shard 2's hang once their rows exist (the
// test then waits for SIGKILL); shard 1's wait until shard 2 is dead, then pass and clean up.
const SHARD_SPEC = `
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import { leaklessTest } from 'leakless/playwright'
import { factories } from '../app.js'

const test = leaklessTest({ factories })

for (const n of [1, 2, 3, 4]) {
  test(\`team \${n}\`, async ({ factories, scope }, testInfo) => {
    const shard = testInfo.config.shard!.current
    const users = await factories.users.createList(2)
    const teams = await factories.teams.createList(1)
    const counters = await factories.counters.createList(3) // no tag: journaled in the registry by key
    expect(users.every((u) => u.email.startsWith(scope.prefix))).toBe(true)
    const dir = process.env.MARKER_DIR!
    mkdirSync(dir, { recursive: true })
    const made = {
      shard,
      worker: testInfo.workerIndex,
      prefix: scope.prefix,
      users: users.map((r) => r.id),
      teams: teams.map((r) => r.id),
      counters: counters.map((r) => r.id),
    }
    const file = join(dir, \`s\${shard}-\${testInfo.testId}.json\`)
    writeFileSync(\`\${file}.tmp\`, JSON.stringify(made))
    renameSync(\`\${file}.tmp\`, file)
    if (shard === 2) await new Promise(() => {}) // killed here, rows and all
    const go = join(dir, 'shard-2-killed')
    for (let i = 0; i < 1200 && !existsSync(go); i++) await new Promise((done) => setTimeout(done, 100))
    expect(existsSync(go)).toBe(true)
  })
}
`

describe('leakless/playwright with the run registry', () => {
  test('E2E sign-up where the app fills a column no factory knows: discovered, recorded, cleaned; 2 workers; every table empty', async () => {
    const app = signUpApp
    const runTag = createRunTag()
    runTags.push(runTag)
    const markers = tempDir('signup-markers')
    const dir = project('signup', {
      'playwright.config.ts': fixture('playwright.config.ts'),
      'server.mjs': signUpServer(app.signUp('').map((s) => s.text)),
      // No tagColumns: nobody tells leakless about users.email or teams.name.
      'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ schemas: [${JSON.stringify(app.schema)}] })\n`,
      'tests/signup.spec.ts': SIGN_UP_SPEC,
    })
    const started = performance.now()
    const result = await run(process.execPath, [PLAYWRIGHT, 'test'], {
      cwd: dir,
      env: {
        DATABASE_URL: database.url,
        APP_PORT: String(await freePort()),
        LEAKLESS_RUN: runTag,
        MARKER_DIR: markers,
      },
      timeoutMs: 120_000,
    })
    console.log(`sign-up run: ${Math.round(performance.now() - started)} ms, exit ${result.code}`)
    expect(result.output, result.output).toContain('4 passed')
    expect(result.output).not.toMatch(/LeakError|CLEANUP_|failed/)
    expect(result.code, result.output).toBe(0)

    // The registry recorded both app-filled columns as discovered, while the run lived.
    const seen = readdirSync(markers).filter((f) => f.startsWith('registry-'))
    expect(seen.length, result.output).toBeGreaterThanOrEqual(1)
    for (const file of seen) {
      const columns = readJson<Array<{ table: string; column: string; source: string }>>(join(markers, file))
      expect(columns).toEqual(
        expect.arrayContaining([
          { table: `${app.schema}.teams`, column: 'name', source: 'discovered' },
          { table: `${app.schema}.users`, column: 'email', source: 'discovered' },
        ]),
      )
    }

    // Whichever worker signed up whom: nothing is left, in any table, nor in the registry.
    expect(await tableCounts(app.schema)).toEqual({
      users: 0,
      teams: 0,
      team_members: 0,
      activity_logs: 0,
      counters: 0,
    })
    expect(await registryRows(runTag)).toEqual({ runs: 0, processes: 0, tag_columns: 0, untagged: 0 })
    removeProject(dir)
  })

  test("sharded: two shards on one run tag, shard 2's runner SIGKILLed mid-test; `audit --run` elsewhere reports exactly shard 2's rows, `sweep --run` removes them", async () => {
    const app = shardApp
    const runTag = createRunTag()
    runTags.push(runTag)
    const markers = tempDir('shard-markers')
    const files = {
      'playwright.config.ts': SHARD_CONFIG,
      'app.ts': serialAppModule(app.schema),
      'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ schemas: [${JSON.stringify(app.schema)}] })\n`,
      'tests/teams.spec.ts': SHARD_SPEC,
    }
    const shardDirs = [project('shard1', files), project('shard2', files)]
    const pidFile = join(markers, 'shard-2.pid')
    const env = (shard: number) => ({
      DATABASE_URL: database.url,
      LEAKLESS_RUN: runTag,
      MARKER_DIR: markers,
      // Each shard on "its own machine": a state directory of its own.
      LEAKLESS_STATE_DIR: tempDir(`shard-${shard}-state`),
    })
    const started = performance.now()
    const one = run(process.execPath, [PLAYWRIGHT, 'test', '--shard=1/2'], {
      cwd: shardDirs[0]!,
      env: env(1),
      timeoutMs: 120_000,
    })
    // Spawned detached: bash's pid (kept by exec) is the process group of the runner and its workers.
    const two = run(
      'bash',
      ['-c', 'echo $$ > "$PID_FILE"; exec "$0" "$@"', process.execPath, PLAYWRIGHT, 'test', '--shard=2/2'],
      { cwd: shardDirs[1]!, env: { ...env(2), PID_FILE: pidFile }, timeoutMs: 120_000 },
    )
    let twoResult: RunResult | null = null
    void two.then((r) => (twoResult = r))

    const made = (shard: number) =>
      existsSync(markers)
        ? readdirSync(markers)
            .filter((f) => f.startsWith(`s${shard}-`) && f.endsWith('.json'))
            .map((f) => readJson<Made>(join(markers, f)))
        : []
    // Both workers of each shard have made their rows (shard 2's now hang, shard 1's wait).
    const madeByTwo = await waitFor(
      "shard 2's rows",
      () => {
        if (twoResult !== null) throw new Error(`shard 2 ended early:\n${(twoResult as RunResult).output}`)
        const m = made(2)
        return m.length === 2 && made(1).length === 2 ? m : null
      },
      90_000,
    )
    const pgid = Number(readFileSync(pidFile, 'utf8').trim())
    groups.push(pgid)
    process.kill(-pgid, 'SIGKILL')
    const twoDone = await two
    expect(twoDone.code).toBeNull() // killed by the signal
    writeFileSync(join(markers, 'shard-2-killed'), '')

    const oneDone = await one
    console.log(`shards: ${Math.round(performance.now() - started)} ms`)
    expect(oneDone.output, oneDone.output).toContain('2 passed')
    expect(oneDone.output).not.toMatch(/LeakError|failed/)
    expect(oneDone.code, oneDone.output).toBe(0)
    const madeByOne = made(1)
    expect(madeByOne.map((m) => m.shard)).toEqual([1, 1])
    expect(madeByTwo.map((m) => m.shard)).toEqual([2, 2])
    expect(new Set(madeByTwo.map((m) => m.worker))).toEqual(new Set([0, 1]))
    // A scope prefix and a sequence make an id.
    for (const m of madeByTwo) expect(decodeId(`${m.prefix}10`)?.shard).toBe(2)

    // Shard 1 cleaned up after itself; shard 2's rows are all still there.
    const ids = (table: 'users' | 'teams' | 'counters') => madeByTwo.flatMap((m) => m[table]).sort((a, b) => a - b)
    expect(await tableCounts(app.schema)).toEqual({
      users: ids('users').length,
      teams: ids('teams').length,
      team_members: 0,
      activity_logs: 0,
      counters: ids('counters').length,
    })

    // A third process on "another machine": the built CLI, no config, no state of the shards.
    const elsewhere = {
      cwd: tempDir('audit-cwd'),
      env: { DATABASE_URL: database.url, LEAKLESS_STATE_DIR: tempDir('audit-state') },
    }
    const auditResult = await run(process.execPath, [CLI, 'audit', '--run', runTag, '--json'], elsewhere)
    expect(auditResult.code, auditResult.output).toBe(1)
    type AuditJson = {
      clean: boolean
      tables: Record<string, number>
      rows: Array<{ table: string; key: { id: number }; provenance: { shard: number | null } | null }>
    }
    const report = JSON.parse(auditResult.stdout) as AuditJson
    expect(report.clean).toBe(false)
    const reported = (table: string) =>
      report.rows
        .filter((r) => r.table === `${app.schema}.${table}`)
        .map((r) => r.key.id)
        .sort((a, b) => a - b)
    expect(report.tables).toEqual({
      [`${app.schema}.users`]: ids('users').length,
      [`${app.schema}.teams`]: ids('teams').length,
      [`${app.schema}.counters`]: ids('counters').length,
    })
    expect(reported('users')).toEqual(ids('users'))
    expect(reported('teams')).toEqual(ids('teams'))
    expect(reported('counters')).toEqual(ids('counters'))
    // Every row is attributed to shard 2: also the untagged ones, found by the key their insert journaled
    // under its scope prefix.
    expect(
      report.rows
        .filter((r) => r.provenance?.shard !== 2)
        .map((r) => ({ table: r.table, key: r.key, provenance: r.provenance })),
      'rows of the audit not attributed to shard 2',
    ).toEqual([])

    // The sweep, from there too: both of shard 2's processes are dead; their rows go.
    const sweepResult = await run(
      process.execPath,
      [CLI, 'sweep', '--run', runTag, '--older-than', '0', '--json'],
      elsewhere,
    )
    expect(sweepResult.code, sweepResult.output).toBe(0)
    const swept = JSON.parse(sweepResult.stdout) as {
      swept: Array<{ prefix: string; shard: number | null; deleted: Record<string, number> }>
      forgotten: string[]
    }
    expect(swept.swept.map((p) => p.shard)).toEqual([2, 2])
    const deleted: Record<string, number> = {}
    for (const p of swept.swept) {
      for (const [table, n] of Object.entries(p.deleted)) deleted[table] = (deleted[table] ?? 0) + n
    }
    expect(deleted).toEqual({
      [`${app.schema}.users`]: ids('users').length,
      [`${app.schema}.teams`]: ids('teams').length,
      [`${app.schema}.counters`]: ids('counters').length,
    })
    expect(swept.forgotten).toEqual([runTag])
    expect(await tableCounts(app.schema)).toEqual({
      users: 0,
      teams: 0,
      team_members: 0,
      activity_logs: 0,
      counters: 0,
    })
    expect(await registryRows(runTag)).toEqual({ runs: 0, processes: 0, tag_columns: 0, untagged: 0 })
    const again = await run(process.execPath, [CLI, 'audit', '--run', runTag], elsewhere)
    expect(again.code, again.output).toBe(0)
    shardDirs.forEach(removeProject)
  })
})
