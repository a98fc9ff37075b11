/**
 * Worker processes of one run SIGKILLed at random points of their booking tests (fixtures/crash-worker.ts):
 * at a random moment, paused after making a graph, and inside their cleanup transaction (blocked on a
 * row lock this test holds). Then the sweep, while one live process of the run holds its lease and rows.
 * Checked: every test's graph is whole, absent, or (killed while inserting) exactly a prefix of its
 * inserts — never half deleted; the sweep removes every row of the dead and none of the living.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isLeaseHeld } from '../../src/cleanup/lease.js'
import { connect, createRunTag, decodeId, sweep, type Database } from '../../src/index.js'
import { readRuns } from '../../src/registry/registry.js'
import { bundle } from '../support/bundle.js'
import { memoryTempDir } from '../support/temp-dir.js'
import { BOOKING_GRAPH } from './fixtures/booking-test.js'

const root = resolve(import.meta.dirname, '../..')
const KINDS = ['random', 'made', 'cleanup'] as const
const PER_KIND = 6
const LANES = 3
type Kind = (typeof KINDS)[number]
type Counts = [users: number, sessions: number, bookings: number, activity: number]
const TABLES = ['public.users', 'public.sessions', 'public.bookings', 'public.activity'] as const
const WHOLE: Counts = TABLES.map((t) => BOOKING_GRAPH[t]) as Counts
const NONE: Counts = [0, 0, 0, 0]
// What makeBookingGraph has committed after each of its statements: two users at once, the booking,
// the session, the signed-up user, then the activity (one statement).
const INSERT_PREFIXES: Counts[] = [NONE, [1, 0, 0, 0], [2, 0, 0, 0], [2, 0, 1, 0], [2, 1, 1, 0], [3, 1, 1, 0], WHOLE]

interface Child {
  child: ChildProcess
  ready: Promise<string>
  /** Resolves with the first line matching `pattern` (its groups). */
  line(pattern: RegExp): Promise<RegExpExecArray>
  closed: Promise<void>
  stdout(): string
  stderr(): string
}

const children = new Set<ChildProcess>()

function startChild(script: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [script], { cwd: root, env, stdio: 'pipe' })
  children.add(child)
  let stdout = ''
  let stderr = ''
  const waiting: Array<{ pattern: RegExp; done: (m: RegExpExecArray) => void }> = []
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
    for (const w of [...waiting]) {
      const m = w.pattern.exec(stdout)
      if (!m) continue
      waiting.splice(waiting.indexOf(w), 1)
      w.done(m)
    }
  })
  const closed = new Promise<void>((done) => child.once('close', () => done()))
  const line = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((done, fail) => {
      const m = pattern.exec(stdout)
      if (m) return done(m)
      waiting.push({ pattern, done })
      void closed.then(() => fail(new Error(`child ended before ${pattern}: ${stderr}`)))
    })
  return {
    child,
    ready: line(/^READY (\S+)$/m).then((m) => m[1]!),
    line,
    closed,
    stdout: () => stdout,
    stderr: () => stderr,
  }
}

async function killHard(c: Child): Promise<void> {
  c.child.kill('SIGKILL')
  await c.closed
  // Killed by us, not dead of an error of its own.
  expect(c.child.signalCode, c.stderr()).toBe('SIGKILL')
}

/** The last step each test scope of a killed child announced. */
function stepsOf(stdout: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of stdout.matchAll(/^STEP (\w+) (\S+)$/gm)) out.set(m[2]!, m[1]!)
  return out
}

describe('SIGKILL at random points, then the sweep', () => {
  const dir = memoryTempDir('leakless-crash-')
  // A run of its own, young: other suites' sweeps (1 h threshold) leave it to this test.
  const runTag = createRunTag()
  let db: Database
  let script: string

  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    ...process.env,
    LEAKLESS_RUN: runTag,
    LEAKLESS_STATE_DIR: join(dir, 'state'),
    ...extra,
  })

  /** Rows of the run per test scope, [users, sessions, bookings, activity]; a user belongs by id or e-mail. */
  async function rowsByScope(): Promise<Map<string, Counts>> {
    const p = [`${runTag}-`]
    const out = new Map<string, Counts>()
    const add = (value: string, column: 0 | 1 | 2 | 3) => {
      const scope = decodeId(value)?.scopePrefix
      if (scope === undefined) throw new Error(`not an id: ${value}`)
      const counts = out.get(scope) ?? ([0, 0, 0, 0] as Counts)
      counts[column]++
      out.set(scope, counts)
    }
    const owner = `case when starts_with(u.id, $1) then u.id else u.email end`
    const own = `starts_with(u.id, $1) or starts_with(u.email, $1)`
    for (const r of await db.execute<{ v: string }>(`select ${owner} as v from users u where ${own}`, p)) add(r.v, 0)
    for (const r of await db.execute<{ v: string }>(`select id as v from sessions where starts_with(id, $1)`, p))
      add(r.v, 1)
    for (const r of await db.execute<{ v: string }>(`select id as v from bookings where starts_with(id, $1)`, p))
      add(r.v, 2)
    for (const r of await db.execute<{ v: string }>(
      `select ${owner} as v from activity a join users u on u.id = a.user_id where ${own}`,
      p,
    ))
      add(r.v, 3)
    return out
  }

  /** md5 of every row of a process, table by table in key order. */
  async function checksumOf(prefix: string): Promise<Record<string, string>> {
    const own = `starts_with(u.id, $1) or starts_with(u.email, $1)`
    const [row] = await db.execute<Record<string, string>>(
      `select
        (select md5(string_agg(u::text, ',' order by u.id)) || count(*) from users u where ${own}) as users,
        (select md5(string_agg(s::text, ',' order by s.id)) || count(*) from sessions s where starts_with(s.id, $1)) as sessions,
        (select md5(string_agg(b::text, ',' order by b.id)) || count(*) from bookings b where starts_with(b.id, $1)) as bookings,
        (select md5(string_agg(a::text, ',' order by a.id)) || count(*) from activity a join users u on u.id = a.user_id where ${own}) as activity`,
      [prefix],
    )
    return row!
  }

  /** Kills one child the way `kind` says; resolves with its prefix and what became of a blocked cleanup. */
  async function crash(
    kind: Kind,
    transaction: boolean,
  ): Promise<{ prefix: string; stdout: string; blocked?: 'committed' | 'rolled back' }> {
    const pauseAt = String(1 + Math.floor(Math.random() * 3))
    const c = startChild(
      script,
      env({ TRANSACTION: transaction ? '1' : '0', ...(kind === 'random' ? {} : { PAUSE: kind, PAUSE_AT: pauseAt }) }),
    )
    const prefix = await c.ready
    if (kind === 'random') {
      await sleep(20 + Math.floor(Math.random() * 300))
      await killHard(c)
      return { prefix, stdout: c.stdout() }
    }
    if (kind === 'made') {
      await c.line(/^PAUSED$/m)
      await killHard(c)
      return { prefix, stdout: c.stdout() }
    }
    // The cleanup blocks inside its transaction on the row lock held here; the process dies there.
    const user = (await c.line(/^LOCK (\S+)$/m))[1]!
    let waiting: number[] = []
    await db.transaction(async (run) => {
      const [me] = await run<{ pid: number }>(`select pg_backend_pid() as pid from users where id = $1 for update`, [
        user,
      ])
      c.child.stdin!.write('go\n')
      await vi.waitFor(
        async () => {
          const rows = await db.execute<{ pid: number }>(
            `select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))`,
            [me!.pid],
          )
          waiting = rows.map((r) => r.pid)
          expect(waiting.length).toBeGreaterThan(0)
        },
        { timeout: 4000, interval: 5 },
      )
      await killHard(c)
    })
    // Released: the orphaned statement goes on, then commits or is rolled back as its session ends.
    await vi.waitFor(
      async () => {
        const [row] = await db.execute<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where pid = any($1::int[])`,
          [waiting],
        )
        expect(row!.n).toBe(0)
      },
      { timeout: 10_000, interval: 10 },
    )
    const [after] = await db.execute<{ n: number }>(`select count(*)::int as n from users where id = $1`, [user])
    return { prefix, stdout: c.stdout(), blocked: Number(after!.n) === 0 ? 'committed' : 'rolled back' }
  }

  beforeAll(async () => {
    db = await connect()
    script = (await bundle({ worker: join(root, 'test/reliability/fixtures/crash-worker.ts') }, join(dir, 'bundle')))
      .worker
  })

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (db) {
      // Housekeeping of a failed run: its rows, then its registry rows.
      await sweep({ db, olderThanMs: 0, runTag }).catch(() => undefined)
      await db.close()
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it(`${KINDS.length * PER_KIND} processes killed while inserting, between, and inside their cleanup transaction: no half-deleted graph; the sweep takes theirs and leaves the live one's`, async () => {
    const live = startChild(script, env({ LIVE: '1' }))
    const livePrefix = await live.ready
    const liveBefore = await checksumOf(livePrefix)

    const plan = KINDS.flatMap((kind) => Array.from({ length: PER_KIND }, () => kind)).sort(() => Math.random() - 0.5)
    const killed: Array<{ kind: Kind; prefix: string; stdout: string; blocked?: 'committed' | 'rolled back' }> = []
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        for (let kind = plan.pop(); kind !== undefined; kind = plan.pop()) {
          // Every other process cleans up in a transaction of several statements rather than one statement.
          killed.push({ kind, ...(await crash(kind, killed.length % 2 === 1)) })
        }
      }),
    )
    const dead = killed.map((k) => k.prefix).sort()
    expect(new Set(dead).size).toBe(KINDS.length * PER_KIND)
    // PostgreSQL ends a killed client's sessions (and its lease) once it sees the sockets close.
    await vi.waitFor(
      async () => {
        for (const prefix of dead) expect(await isLeaseHeld(db, prefix), prefix).toBe(false)
      },
      { timeout: 15_000, interval: 50 },
    )
    expect(await isLeaseHeld(db, livePrefix)).toBe(true)

    // Before the sweep: every test of a dead process is whole, gone, or a prefix of its inserts.
    const rows = await rowsByScope()
    const expected = new Map<string, Record<string, number>>()
    const phases: Record<string, number> = {}
    let graphsLeft = 0
    for (const k of killed) {
      const steps = stepsOf(k.stdout)
      const last = [...steps.values()].at(-1) ?? 'before the first test'
      const phase = k.kind === 'random' ? `random (${last})` : k.kind
      phases[phase] = (phases[phase] ?? 0) + 1
      const deleted: Record<string, number> = {}
      for (const [scope, step] of steps) {
        const found = rows.get(scope) ?? NONE
        rows.delete(scope)
        const allowed = step === 'insert' ? INSERT_PREFIXES : step === 'cleanup' ? [WHOLE, NONE] : [NONE]
        expect(allowed, `${scope} (${k.kind}, killed at "${step}"): ${found}`).toContainEqual(found)
        if (k.kind === 'made' && scope === [...steps.keys()].at(-1)) expect(found).toEqual(WHOLE)
        if (found.some((n) => n > 0)) graphsLeft++
        TABLES.forEach((t, i) => found[i]! > 0 && (deleted[t] = (deleted[t] ?? 0) + found[i]!))
      }
      expected.set(k.prefix, deleted)
    }
    // The rest is the live process's: its three whole graphs.
    expect([...rows.keys()].every((scope) => scope.startsWith(livePrefix))).toBe(true)
    expect([...rows.values()]).toEqual([WHOLE, WHOLE, WHOLE])

    const report = await sweep({ db, olderThanMs: 0, runTag })
    const swept = report.swept.reduce((n, p) => n + Object.values(p.deleted).reduce((a, b) => a + b, 0), 0)
    const blocked = killed.filter((k) => k.blocked !== undefined)
    console.log(
      `${killed.length} processes killed (${Object.entries(phases)
        .map(([p, n]) => `${n} ${p}`)
        .join(
          ', ',
        )}); blocked cleanups after their process died: ${blocked.filter((k) => k.blocked === 'committed').length} committed, ${blocked.filter((k) => k.blocked === 'rolled back').length} rolled back; ` +
        `${graphsLeft} test graphs left, swept ${swept} rows of ${report.swept.length} dead processes in ${report.durationMs.toFixed(0)} ms; the live process skipped (lease held)`,
    )
    expect(report.swept.map((p) => p.prefix).sort()).toEqual(dead)
    for (const p of report.swept) expect(p.deleted, p.prefix).toEqual(expected.get(p.prefix))
    expect(report.skipped).toEqual([{ prefix: livePrefix, reason: 'lease held' }])
    // Nothing of the dead left; the live process's rows byte for byte as they were.
    expect([...(await rowsByScope()).keys()].filter((scope) => !scope.startsWith(livePrefix))).toEqual([])
    expect(await checksumOf(livePrefix)).toEqual(liveBefore)

    // The live process ends as usual: its close deletes its three graphs, and the registry forgets the run.
    live.child.stdin!.end()
    const closed = JSON.parse((await live.line(/^CLOSED (.+)$/m))[1]!) as { clean: boolean; deleted: object }
    expect(closed).toEqual({
      clean: true,
      deleted: Object.fromEntries(TABLES.map((t) => [t, 3 * BOOKING_GRAPH[t]])),
    })
    await live.closed
    expect(await rowsByScope()).toEqual(new Map())
    expect(await readRuns(db, runTag)).toEqual([])
  })
})
