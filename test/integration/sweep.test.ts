import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { factories } from '../../factories/index.js'
import { acquireLease, isLeaseHeld, LEASE_NAMESPACE } from '../../src/cleanup/lease.js'
import { sweep } from '../../src/cleanup/sweep.js'
import { invalidateSchema, type Database } from '../../src/db/index.js'
import { decodeRunTagTime } from '../../src/ids/id-format.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { createRun, decodeId, type RunContext } from '../../src/index.js'
import { readRuns, registerProcess } from '../../src/registry/registry.js'
import { bigserial, integer, pgSchema } from 'drizzle-orm/pg-core'
import { defineFactory } from '../../src/index.js'
import { createRunSync } from '../../src/run/index.js'
import { spawnReadyChild } from '../support/ready-child.js'
import { databaseUrl, deleteByPrefix, drivers } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')
const childScript = join(root, 'test/integration/fixtures/crash-child.ts')
const postgresDriver = drivers.find((d) => d.name === 'postgres')!

/** Starts a run in another process that leases its prefix, makes rows and waits; `ready` resolves its prefix. */
const spawnCrashChild = (env: NodeJS.ProcessEnv) =>
  spawnReadyChild(['--import', 'tsx', childScript], env, 'crash child')

// PGlite is one in-process connection: there is no other process whose lease or crash a sweep could see.
describe('sweep on postgres', () => {
  let db: Database
  const schema = `sweep_${randomBytes(4).toString('hex')}`
  const counter = `${schema}.counter`
  const stateDir = mkdtempSync(join(tmpdir(), 'leakless-sweep-'))
  // Two hours old: old enough for any threshold the tests use; fresh, so every row carrying it is ours.
  const runTag = createRunTag(Date.now() - 2 * 3600_000)
  const youngTag = createRunTag()
  const schemas = ['public', schema]
  let child: ChildProcess | undefined
  let crashed: string
  let live: RunContext
  const liveRows = { users: [] as string[], sessions: [] as string[], bookings: [] as string[], counter: '' }

  const count = async (sql: string, params: unknown[]) =>
    Number((await db.execute<{ n: string }>(`select count(*) as n from ${sql}`, params))[0]!.n)
  const rowsOf = async (prefix: string) => ({
    'public.users': await count('users where starts_with(id, $1)', [prefix]),
    'public.sessions': await count('sessions where starts_with(id, $1)', [prefix]),
    'public.bookings': await count('bookings where starts_with(id, $1)', [prefix]),
    'public.activity': await count('activity where starts_with(user_id, $1)', [prefix]),
  })

  beforeAll(async () => {
    db = await postgresDriver.open()
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${counter} (id bigserial primary key, n int)`)
    const counterFactory = defineFactory(
      pgSchema(schema).table('counter', { id: bigserial({ mode: 'number' }).primaryKey(), n: integer() }),
      () => ({ n: 2 }),
    )

    // A live run of the same (old) run tag, in this process, holding its lease.
    live = await createRun({ db, runTag, stateDir })
    expect(await isLeaseHeld(db, live.prefix)).toBe(true) // createRun holds it
    const f = live.scope('stays alive').bind(factories)
    const user = await f.users.create()
    const session = await f.sessions.create({ userId: user })
    const booking = await f.bookings.create({ parentId: user })
    liveRows.users.push(user.id, booking.instructorId)
    liveRows.sessions.push(session.id)
    liveRows.bookings.push(booking.id)
    await db.execute('insert into activity (user_id, action) values ($1, $2)', [user.id, 'lives'])
    const row = await live.scope('counts').bind({ counterFactory }).counterFactory.create()
    liveRows.counter = String(row.id)

    // The crashed run: another process of the same run, killed without any chance to clean up.
    expect(databaseUrl()).not.toBe('')
    const spawned = spawnCrashChild({
      ...process.env,
      LEAKLESS_RUN: runTag,
      LEAKLESS_STATE_DIR: stateDir,
      COUNTER_TABLE: counter,
    })
    child = spawned.child
    crashed = await spawned.ready
    expect(await isLeaseHeld(db, crashed)).toBe(true)
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    // PostgreSQL ends the killed client's session (and its advisory lock) once it sees the socket close.
    await vi.waitFor(async () => expect(await isLeaseHeld(db, crashed)).toBe(false), { timeout: 10_000, interval: 50 })
  })

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await live?.close().catch(() => undefined)
    if (db) {
      await deleteByPrefix(db, `${runTag}-`)
      await deleteByPrefix(db, `${youngTag}-`)
      await db.execute(`drop schema if exists ${schema} cascade`)
      await db.close()
    }
    rmSync(stateDir, { recursive: true, force: true })
  })

  const crashedRows = () => ({
    'public.users': 2,
    'public.sessions': 1,
    'public.bookings': 1,
    'public.activity': 1,
    [counter]: 1,
  })

  it('a dry run deletes nothing and reports what it would delete per process', async () => {
    const before = await rowsOf(crashed)
    const progress: string[] = []
    const report = await sweep({
      db,
      olderThanMs: 0,
      schemas,
      runTag,
      dryRun: true,
      scan: true,
      onProgress: (done, total, table) => progress.push(`${done}/${total} ${table}`),
    })

    expect(report.dryRun).toBe(true)
    expect(report.swept).toEqual([
      {
        prefix: crashed,
        runTag,
        shard: null,
        process: decodeId(`${crashed}0-10`)!.process,
        worker: expect.any(Number),
        pid: child!.pid,
        startedAt: decodeRunTagTime(runTag),
        deleted: crashedRows(),
      },
    ])
    expect(report.skipped).toEqual([{ prefix: live.prefix, reason: 'lease held' }])
    // Tables of other schemas that reference public ones are scanned too, so only the shape is fixed.
    expect(progress.at(-1)).toMatch(/^(\d+)\/\1 /)
    expect(progress.some((line) => line.endsWith(' public.users'))).toBe(true)
    expect(await rowsOf(crashed)).toEqual(before)
    expect(await count(`${counter}`, [])).toBe(2)
    const [registered] = await readRuns(db, runTag)
    expect(registered!.untagged).toEqual({ [counter]: 2 }) // the live run's row and the crashed one's
  })

  it('removes every row of the crashed process, journaled untagged ones too; the live run keeps its rows', async () => {
    const report = await sweep({ db, olderThanMs: 0, runTag })

    expect(report.dryRun).toBe(false)
    expect(report.swept.map((p) => [p.prefix, p.deleted])).toEqual([[crashed, crashedRows()]])
    expect(report.skipped).toEqual([{ prefix: live.prefix, reason: 'lease held' }])
    expect(await rowsOf(crashed)).toEqual({
      'public.users': 0,
      'public.sessions': 0,
      'public.bookings': 0,
      'public.activity': 0,
    })
    expect(await count(`${counter}`, [])).toBe(1)
    const [registered] = await readRuns(db, runTag)
    expect(registered!.processes.map((p) => p.prefix)).toEqual([live.prefix])
    expect(registered!.untagged).toEqual({ [counter]: 1 })

    expect(await count('users where id = any($1)', [liveRows.users])).toBe(2)
    expect(await count('sessions where id = any($1)', [liveRows.sessions])).toBe(1)
    expect(await count('bookings where id = any($1)', [liveRows.bookings])).toBe(1)
    expect(await count('activity where user_id = any($1)', [liveRows.users])).toBe(1)
    expect(await count(`${counter} where id = $1`, [liveRows.counter])).toBe(1)

    // Idempotent: nothing left of the crashed process to find.
    const again = await sweep({ db, olderThanMs: 0, runTag })
    expect(again.swept).toEqual([])
    expect(again.skipped).toEqual([{ prefix: live.prefix, reason: 'lease held' }])
  })

  it('skips a run younger than the threshold, and sweeps it once it is old enough', async () => {
    // A registered run context without a lease, like one whose process just died.
    const young = createRunSync({ db, runTag: youngTag, stateDir })
    await registerProcess(db, { ...young, runStartedAt: young.startedAt, tagColumns: [] })
    const user = await young.scope('young').bind(factories).users.create()

    const report = await sweep({ db, schemas, runTag: youngTag })
    expect(report.swept).toEqual([])
    expect(report.skipped).toEqual([{ prefix: young.prefix, reason: 'too young' }])
    expect(await count('users where id = $1', [user.id])).toBe(1)

    const later = await sweep({ db, schemas, runTag: youngTag, now: new Date(Date.now() + 2 * 3600_000) })
    expect(later.swept.map((p) => [p.prefix, p.deleted])).toEqual([[young.prefix, { 'public.users': 1 }]])
    expect(later.forgotten).toEqual([youngTag]) // nothing of it left: its registry rows go too
    expect(await readRuns(db, youngTag)).toEqual([])
    expect(await count('users where id = $1', [user.id])).toBe(0)
  })

  it('a lease whose connection dropped is simply gone: release() is quiet and the pool keeps working', async () => {
    const prefix = `${runTag}-w0p1x${randomBytes(3).toString('hex')}-`
    const lease = await acquireLease(db, prefix)
    const [holder] = await db.execute<{ pid: number }>(
      `select pid from pg_locks where locktype = 'advisory' and classid = $1::int::oid and objid = hashtext($2)::oid and granted`,
      [LEASE_NAMESPACE, prefix],
    )
    await db.execute('select pg_terminate_backend($1)', [holder!.pid])
    await vi.waitFor(async () => expect(await isLeaseHeld(db, prefix)).toBe(false), { timeout: 10_000, interval: 50 })
    await lease.release()
    await lease.release()
    const ones = await Promise.all(Array.from({ length: 20 }, () => db.execute<{ one: number }>('select 1 as one')))
    expect(ones.flat()).toHaveLength(20)
  })

  it('refuses malformed options with a LeaklessError before touching anything', async () => {
    await expect(sweep({ db, olderThanMs: Number.NaN })).rejects.toMatchObject({ code: 'OPTION_INVALID' })
    await expect(sweep({ db, olderThanMs: -1 })).rejects.toMatchObject({ code: 'OPTION_INVALID' })
    await expect(sweep({ db, olderThanMs: '1h' as unknown as number })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
    })
    await expect(sweep({ db, runTag: 'not-a-tag' })).rejects.toMatchObject({
      name: 'InputError',
      code: 'RUN_TAG_INVALID',
    })
    await expect(sweep({ db, exceptRunTag: 'x' })).rejects.toMatchObject({ code: 'RUN_TAG_INVALID' })
  })

  it('under a table lock another session holds, fails with CLEANUP_LOCK_TIMEOUT naming that session', async () => {
    let release!: () => void
    const held = new Promise<void>((done) => (release = done))
    let locked!: (pid: number) => void
    const isLocked = new Promise<number>((done) => (locked = done))
    const holder = db.transaction(async (exec) => {
      await exec(`select set_config('application_name', 'table-locker', true)`)
      await exec(`lock table ${counter} in access exclusive mode`)
      const [me] = await exec<{ pid: number }>('select pg_backend_pid() as pid')
      locked(me!.pid)
      await held
    })
    const pid = await isLocked
    try {
      invalidateSchema(db) // the sweep reads the tables' sizes: that waits for the lock
      const error = await sweep({ db, olderThanMs: 0, schemas, runTag: youngTag, dryRun: true }).catch((e) => e)
      expect(error).toMatchObject({ name: 'CleanupError', code: 'CLEANUP_LOCK_TIMEOUT' })
      expect(error.details.blockers).toEqual([expect.objectContaining({ pid, applicationName: 'table-locker' })])
      expect(error.message).toContain(`pid ${pid} (application_name "table-locker"`)
    } finally {
      release()
      await holder
    }
  })

  it('leaves the run named by exceptRunTag alone without reporting it', async () => {
    const report = await sweep({ db, olderThanMs: 0, schemas, runTag, exceptRunTag: runTag })
    expect(report).toMatchObject({ swept: [], skipped: [], forgotten: [] })
  })
})
