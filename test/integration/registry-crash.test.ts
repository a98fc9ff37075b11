/**
 * The run registry against real crashes: processes SIGKILLed in the middle of their inserts, and a whole
 * run audited and swept afterwards by the built CLI from "another machine" (a fresh directory and state
 * dir, no config file, no LEAKLESS_RUN), with nothing but the database to go on.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isLeaseHeld } from '../../src/cleanup/lease.js'
import { withFileLock } from '../../src/db/file-lock.js'
import { connect, type Database } from '../../src/db/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { createRun, sweep, type RunContext } from '../../src/index.js'
import { readRuns } from '../../src/registry/registry.js'
import { serialApp } from '../fixtures/serial-app.js'
import { bundle } from '../support/bundle.js'
import { spawnReadyChild, type ReadyChild } from '../support/ready-child.js'
import { databaseUrl } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')
const loopChild = join(root, 'test/integration/fixtures/registry-loop-child.ts')
const appChild = join(root, 'test/integration/fixtures/registry-app-child.ts')
const cliEntry = join(root, 'dist/cli/index.js')

const tables = ['users', 'teams', 'team_members', 'activity_logs', 'counters'] as const
type Ids = Record<(typeof tables)[number], number[]>
const byId = (a: number, b: number) => a - b

// Old enough for `olderThanMs: 0` and `--older-than 0`, younger than the 1 h default of the sweeps other
// suites' global setups run on this database meanwhile: nobody but these tests removes these runs' rows.
const oldRunTag = () => createRunTag(Date.now() - 20 * 60_000)

/** Every child process the tests started: killed on the way out, whatever happened. */
const children = new Set<ChildProcess>()

/** Starts `node …args` in the repository, as sweep.test.ts starts its crash child; resolves `ready` on `READY <text>`. */
function spawnChild(args: string[], env: NodeJS.ProcessEnv): ReadyChild {
  const spawned = spawnReadyChild(args, env)
  children.add(spawned.child)
  return spawned
}

async function killHard(spawned: ReadyChild): Promise<void> {
  spawned.child.kill('SIGKILL')
  await spawned.closed
  // Killed by us, not dead of an error of its own.
  expect(spawned.child.signalCode, spawned.stderr()).toBe('SIGKILL')
}

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built CLI (`node dist/cli/index.js`) in `cwd` with exactly `env`. */
function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawn(process.execPath, [cliEntry, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('close', (code) => done({ code, stdout, stderr }))
  })
}

/** Newest modification time of the files `dist/` is built from. */
function newestSource(): number {
  const files = [
    ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(root, 'src', f)),
    join(root, 'package.json'),
    join(root, 'tsup.config.ts'),
  ]
  return Math.max(...files.map((file) => statSync(file).mtimeMs))
}

/**
 * Takes the adapters suite's build lock (dist.lock), builds `dist/` when it is missing or older than its
 * sources, and keeps the lock until the returned function is called: no other suite's build (tsup
 * empties dist/ first) runs under the CLI meanwhile.
 */
async function holdBuiltDist(): Promise<() => Promise<void>> {
  const stale = () => !existsSync(cliEntry) || statSync(cliEntry).mtimeMs < newestSource()
  let release!: () => void
  const released = new Promise<void>((done) => (release = done))
  let built!: () => void
  const ready = new Promise<void>((done) => (built = done))
  const holding = withFileLock(
    join(root, 'dist.lock'),
    async () => {
      if (stale()) execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'inherit' })
      built()
      await released
    },
    { timeoutMs: 120_000, onTimeout: (pid) => new Error(`another build (pid ${pid}) holds dist.lock`) },
  )
  // A failed build or a lock never obtained rejects `holding` before `ready`.
  await Promise.race([ready, holding])
  return async () => {
    release()
    await holding
  }
}

// PGlite is one in-process connection: no other process can crash on it.
describe('run registry on postgres: killed processes', () => {
  const schemas: string[] = []
  const runTags: string[] = []
  const tempDirs: string[] = []
  let db: Database
  let live: RunContext | undefined

  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), name))
    tempDirs.push(dir)
    return dir
  }
  /** The serial-key app in a schema of its own, created now, dropped after the tests. */
  const privateApp = async () => {
    const app = serialApp(`lk_regcrash_${randomBytes(4).toString('hex')}`)
    schemas.push(app.schema)
    for (const statement of app.ddl) await db.execute(statement)
    return app
  }
  const newRunTag = () => {
    const runTag = oldRunTag()
    runTags.push(runTag)
    return runTag
  }
  /** Every row of the app's tables, by id. */
  const allIds = async (schema: string): Promise<Ids> => {
    const out = {} as Ids
    for (const table of tables) {
      const rows = await db.execute<{ id: number }>(`select id from "${schema}".${table} order by id`)
      out[table] = rows.map((r) => Number(r.id))
    }
    return out
  }
  const count = async (text: string, params: unknown[] = []) =>
    Number((await db.execute<{ n: number }>(`select count(*)::int as n from ${text}`, params))[0]!.n)
  const childEnv = (runTag: string, schema: string): NodeJS.ProcessEnv => ({
    ...process.env,
    LEAKLESS_RUN: runTag,
    LEAKLESS_STATE_DIR: tempDir('lk-regcrash-child-'),
    SERIAL_SCHEMA: schema,
  })

  beforeAll(async () => {
    expect(databaseUrl()).not.toBe('')
    db = await connect()
  })

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await live?.close().catch(() => undefined)
    if (db) {
      // Housekeeping of whatever a failed test left: the registry rows of these runs, then the schemas.
      for (const runTag of runTags) {
        await db.execute(`delete from leakless.untagged where prefix like $1`, [`${runTag}-%`])
        await db.execute(`delete from leakless.processes where run_tag = $1`, [runTag])
        await db.execute(`delete from leakless.tag_columns where run_tag = $1`, [runTag])
        await db.execute(`delete from leakless.runs where run_tag = $1`, [runTag])
      }
      for (const schema of schemas) await db.execute(`drop schema if exists "${schema}" cascade`)
      await db.close()
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  })

  it('SIGKILL at random points of a createList of untagged rows: never a row without its journal entry; the sweep removes them all', async () => {
    const app = await privateApp()
    const q = `"${app.schema}"`
    const runTag = newRunTag()
    const { child: script } = await bundle({ child: loopChild }, tempDir('lk-regcrash-bundle-'))
    const kills = 50
    const lanes = 4
    const killed: Array<{ prefix: string; delayMs: number; acknowledged: number }> = []
    let started = 0
    // A few children at a time, each killed 20–300 ms after it registered, wherever its loop then is.
    const lane = async () => {
      while (started < kills) {
        started++
        const spawned = spawnChild([script], childEnv(runTag, app.schema))
        const prefix = await spawned.ready
        const delayMs = 20 + Math.floor(Math.random() * 281)
        await sleep(delayMs)
        await killHard(spawned)
        // Lists the database acknowledged before the kill (a pipe's writes are synchronous on Linux).
        const acknowledged = spawned.stdout().match(/^BATCH \d+$/gm)?.length ?? 0
        killed.push({ prefix, delayMs, acknowledged })
      }
    }
    await Promise.all(Array.from({ length: lanes }, lane))
    expect(killed).toHaveLength(kills)
    const prefixes = killed.map((k) => k.prefix).sort()
    expect(new Set(prefixes).size).toBe(kills)
    for (const prefix of prefixes) expect(prefix.startsWith(`${runTag}-`)).toBe(true)
    // PostgreSQL ends a killed client's session (and its lease) once it sees the socket close.
    await vi.waitFor(
      async () => {
        for (const prefix of prefixes) expect(await isLeaseHeld(db, prefix), prefix).toBe(false)
      },
      { timeout: 15_000, interval: 100 },
    )

    const rows = await count(`${q}.counters`)
    expect(rows).toBeGreaterThan(0)
    // Set operations (hash or sort), not a correlated lookup: the journal has no index on its keys.
    const journaled = `select (key->>'id')::int from leakless.untagged
      where table_schema = $1 and table_name = 'counters' and starts_with(prefix, $2)`
    const params = [app.schema, `${runTag}-`]
    // Never a row without its journal entry…
    const orphans = await db.execute(`select id from ${q}.counters except all ${journaled} limit 20`, params)
    expect(orphans, 'counters rows without a journal entry').toEqual([])
    // …nor an entry without its row, nor one for another table, nor an entry twice.
    const strays = await db.execute(`${journaled} except all select id from ${q}.counters limit 20`, params)
    expect(strays, 'journal entries without their row').toEqual([])
    expect(await count(`leakless.untagged where starts_with(prefix, $1)`, [`${runTag}-`])).toBe(rows)
    // A list is one statement: each process has whole lists only, every one it was told of, and at most
    // one more (committed, but killed before the answer reached it).
    const perProcess = new Map(
      (
        await db.execute<{ process: string; n: number }>(
          `select substring(prefix from '^[0-9a-z]{14}-[0-9a-z]+-') as process, count(*)::int as n
          from leakless.untagged where starts_with(prefix, $1) group by 1`,
          [`${runTag}-`],
        )
      ).map((r) => [r.process, Number(r.n)]),
    )
    for (const { prefix, acknowledged, delayMs } of killed) {
      const n = perProcess.get(prefix) ?? 0
      const what = `${prefix} killed after ${delayMs} ms: ${n} rows, ${acknowledged} lists acknowledged`
      expect(n % 200, what).toBe(0)
      expect([acknowledged, acknowledged + 1], what).toContain(n / 200)
    }
    expect([...perProcess.keys()].filter((p) => !prefixes.includes(p))).toEqual([])
    const unanswered = killed.filter((k) => (perProcess.get(k.prefix) ?? 0) / 200 > k.acknowledged).length
    console.log(`${kills} kills: ${rows} rows; ${unanswered} lists committed but never acknowledged to their process`)

    // No schemas option: the registry says where the journaled rows are.
    const report = await sweep({ db, olderThanMs: 0, runTag })
    expect(report.skipped).toEqual([])
    expect(report.swept.map((p) => p.prefix).sort()).toEqual(prefixes)
    expect(report.swept.reduce((n, p) => n + (p.deleted[`${app.schema}.counters`] ?? 0), 0)).toBe(rows)
    expect(await count(`${q}.counters`)).toBe(0)
    expect(await count(`leakless.untagged where starts_with(prefix, $1)`, [`${runTag}-`])).toBe(0)
    const registered = await readRuns(db, runTag)
    expect(registered.flatMap((run) => run.processes.filter((p) => p.closedAt === null))).toEqual([])
    expect(registered.flatMap((run) => Object.keys(run.untagged))).toEqual([])
  })

  describe('the whole run killed, audited and swept from another machine', () => {
    let app: ReturnType<typeof serialApp>
    let runTag: string
    const liveIds = {} as Ids
    const deadIds = {} as Ids
    let dead: { prefix: string; user: number; team: number; email: string; counters: number[] }
    let otherMachine: { cwd: string; env: NodeJS.ProcessEnv }
    let releaseDist: (() => Promise<void>) | undefined

    /** The rows one signUp() wrote for `email`. */
    const signedUp = async (email: string) => {
      const q = `"${app.schema}"`
      const [row] = await db.execute<{ user: number; team: number; member: number; log: number }>(
        `select u.id as "user", t.id as team, m.id as member, l.id as log from ${q}.users u
        join ${q}.teams t on t.name = u.email || '''s Team'
        join ${q}.team_members m on m.team_id = t.id and m.user_id = u.id
        join ${q}.activity_logs l on l.team_id = t.id and l.user_id = u.id and l.action = 'SIGN_UP'
        where u.email = $1`,
        [email],
      )
      expect(row, `signUp rows of ${email}`).toBeDefined()
      return { user: Number(row!.user), team: Number(row!.team), member: Number(row!.member), log: Number(row!.log) }
    }
    /** Audit rows by table (all of the app's schema), as sorted ids. */
    const byTable = (rows: Array<{ table: string; key: Record<string, unknown> }>) => {
      const out = Object.fromEntries(tables.map((t) => [t, [] as number[]])) as Ids
      for (const row of rows) {
        expect(row.table.startsWith(`${app.schema}.`), row.table).toBe(true)
        out[row.table.slice(app.schema.length + 1) as keyof Ids].push(Number(row.key.id))
      }
      for (const t of tables) out[t].sort(byId)
      return out
    }
    const union = (a: Ids, b: Ids) => Object.fromEntries(tables.map((t) => [t, [...a[t], ...b[t]].sort(byId)])) as Ids
    const leakless = (...args: string[]) => cli(args, otherMachine.cwd, otherMachine.env)

    beforeAll(async () => {
      releaseDist = await holdBuiltDist()
      app = await privateApp()
      runTag = newRunTag()

      // A live process of the run, here: it holds its lease and rows of every kind.
      live = await createRun({ db, runTag, factories: app.factories, stateDir: tempDir('lk-regcrash-live-') })
      const scope = live.scope('stays alive')
      const f = scope.bind(app.factories)
      const user = await f.users.create()
      const team = await f.teams.create()
      const email = scope.email('signup')
      for (const statement of app.signUp(email)) await db.execute(statement.text, statement.params)
      const counters = await f.counters.createList(2)
      const mine = await signedUp(email)
      Object.assign(liveIds, {
        users: [user.id, mine.user].sort(byId),
        teams: [team.id, mine.team].sort(byId),
        team_members: [mine.member],
        activity_logs: [mine.log],
        counters: counters.map((c) => c.id).sort(byId),
      })

      // Another process of the same run, killed without any chance to clean up; its state dir goes with it.
      const env = childEnv(runTag, app.schema)
      const spawned = spawnChild(['--import', 'tsx', appChild], env)
      dead = JSON.parse(await spawned.ready) as typeof dead
      await killHard(spawned)
      rmSync(env.LEAKLESS_STATE_DIR!, { recursive: true, force: true })
      await vi.waitFor(async () => expect(await isLeaseHeld(db, dead.prefix)).toBe(false), {
        timeout: 10_000,
        interval: 50,
      })
      expect(await isLeaseHeld(db, live.prefix)).toBe(true)
      const theirs = await signedUp(dead.email)
      Object.assign(deadIds, {
        users: [dead.user, theirs.user].sort(byId),
        teams: [dead.team, theirs.team].sort(byId),
        team_members: [theirs.member],
        activity_logs: [theirs.log],
        counters: [...dead.counters].sort(byId),
      })
      // Nothing else is in the schema.
      expect(await allIds(app.schema)).toEqual(union(liveIds, deadIds))

      // The other machine: a fresh directory (no leakless.config.ts up to /), a fresh state dir, no LEAKLESS_RUN.
      const cwd = tempDir('lk-other-machine-')
      const clean: NodeJS.ProcessEnv = {}
      for (const [key, value] of Object.entries(process.env)) {
        if (!/^(LEAKLESS_|VITEST|TEST_|NODE_OPTIONS$|DATABASE_URL$)/.test(key)) clean[key] = value
      }
      otherMachine = {
        cwd,
        env: { ...clean, DATABASE_URL: databaseUrl(), LEAKLESS_STATE_DIR: tempDir('lk-other-state-'), NO_COLOR: '1' },
      }
    })

    afterAll(() => releaseDist?.())

    it('`leakless audit --run` exits 1 and lists every row of the dead process, with or without --schema', async () => {
      const [plain, flagged] = await Promise.all([
        leakless('audit', '--run', runTag, '--json'),
        leakless('audit', '--run', runTag, '--schema', app.schema, '--json'),
      ])
      for (const result of [plain, flagged]) {
        expect(result.code, result.stderr).toBe(1)
        const report = JSON.parse(result.stdout) as {
          prefix: string
          clean: boolean
          rows: Array<{ table: string; key: Record<string, unknown>; provenance: { processPrefix: string } | null }>
        }
        expect(report).toMatchObject({ prefix: `${runTag}-`, clean: false })
        // The run's rows, all of them: the dead process's and the live one's (and nothing else).
        expect(byTable(report.rows)).toEqual(union(liveIds, deadIds))
        // Each row names the process that made it (from its tag, its journal entry or its parent's tag),
        // found from nothing but the database.
        const made = (prefix: string) => byTable(report.rows.filter((r) => r.provenance?.processPrefix === prefix))
        expect(made(dead.prefix)).toEqual(deadIds)
        expect(made(live!.prefix)).toEqual(liveIds)
      }
    })

    it('`leakless sweep --run --older-than 0` removes every row of the dead process and none of the live one', async () => {
      const expected = {
        [`${app.schema}.users`]: 2,
        [`${app.schema}.teams`]: 2,
        [`${app.schema}.team_members`]: 1,
        [`${app.schema}.activity_logs`]: 1,
        [`${app.schema}.counters`]: 3,
      }
      const dry = await leakless(
        'sweep',
        '--run',
        runTag,
        '--older-than',
        '0',
        '--schema',
        app.schema,
        '--dry-run',
        '--json',
      )
      expect(dry.code, dry.stderr).toBe(0)
      expect(JSON.parse(dry.stdout)).toMatchObject({
        dryRun: true,
        swept: [{ prefix: dead.prefix, deleted: expected }],
        skipped: [{ prefix: live!.prefix, reason: 'lease held' }],
      })
      expect(await allIds(app.schema)).toEqual(union(liveIds, deadIds))

      // No --schema: the registry knows the schema of every table the run wrote to.
      const result = await leakless('sweep', '--run', runTag, '--older-than', '0', '--json')
      expect(result.code, result.stderr).toBe(0)
      const report = JSON.parse(result.stdout)
      expect(report.swept).toHaveLength(1)
      expect(report.swept[0]).toMatchObject({ prefix: dead.prefix, deleted: expected })
      expect(report.skipped).toEqual([{ prefix: live!.prefix, reason: 'lease held' }])
      expect(await allIds(app.schema)).toEqual(liveIds)

      // The registry forgot the dead process, not the live one; the audit now lists the live rows alone.
      const [run] = await readRuns(db, runTag)
      expect(run?.processes.map((p) => [p.prefix, p.closedAt])).toEqual([[live!.prefix, null]])
      expect(run?.untagged).toEqual({ [`${app.schema}.counters`]: 2 })
      const after = await leakless('audit', '--run', runTag, '--json')
      expect(after.code, after.stderr).toBe(1)
      expect(byTable(JSON.parse(after.stdout).rows)).toEqual(liveIds)

      // The live run ends as usual: its close cleans up what it made, and the run is clean.
      const closed = await live!.close()
      live = undefined
      expect(closed.clean).toBe(true)
      expect(await allIds(app.schema)).toEqual(Object.fromEntries(tables.map((t) => [t, []])))
      // It was the last process of the run: the registry forgets the run.
      expect(await readRuns(db, runTag)).toEqual([])
      const end = await leakless('audit', '--run', runTag, '--json')
      expect(end.code, end.stderr).toBe(0)
    })
  })
})
