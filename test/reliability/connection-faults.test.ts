/**
 * Connection faults on a PostgreSQL server of the test's own (never the shared one): restarts while a run
 * holds its lease, restarts during cleanups, a server that is down, a server that never answers, and
 * prompt closing. Wanted: no hang, no uncaught exception, every failure a LeaklessError that says the
 * server went away, the lease renewed, and the next cleanup finishing the job.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connect, createRun, ensureSchema, isLeaklessError, type Database, type RunContext } from '../../src/index.js'
import { isLeaseHeld } from '../../src/cleanup/lease.js'
import { bookingScenario, factories } from '../../factories/index.js'
import { startPrivateServer, type PrivateServer } from '../support/private-server.js'

let server: PrivateServer
const uncaught: unknown[] = []
const onUncaught = (error: unknown) => uncaught.push(error)
const opened: Database[] = []

/** Settles like `work` or fails the test after `ms`: a hang is a failure, not a timeout of the suite. */
async function within<T>(ms: number, work: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms)
  })
  try {
    return { value: await Promise.race([work, hang]), ms: Date.now() - started }
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error
    return { error, ms: Date.now() - started }
  } finally {
    clearTimeout(timer)
  }
}

async function open(options: { queryTimeoutMs?: number } = {}): Promise<Database> {
  const db = await connect({ url: server.url, ...options })
  opened.push(db)
  return db
}

/** Rows whose text columns start with the prefix, in every table of the reference domain. */
async function ownedRows(db: Database, prefix: string): Promise<number> {
  const [row] = await db.execute<{ n: number }>(
    `select (select count(*) from users where starts_with(id, $1))
      + (select count(*) from sessions where starts_with(id, $1))
      + (select count(*) from bookings where starts_with(id, $1))::int as n`,
    [prefix],
  )
  return Number(row!.n)
}

/**
 * The pool works again after a restart: each pooled connection the restart ended may fail its first query
 * (postgres.js notices the close only then), after which every query succeeds — no connection is left
 * broken, no query hangs, nothing throws outside a promise.
 */
async function poolWorks(db: Database): Promise<void> {
  const batch = () =>
    Promise.allSettled(Array.from({ length: 30 }, () => db.execute<{ one: number }>('select 1 as one')))
  await within(15_000, batch())
  const settled = await within(15_000, batch())
  expect(settled.value?.filter((r) => r.status === 'fulfilled')).toHaveLength(30)
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  for (const until = Date.now() + ms; !check() && Date.now() < until;) await new Promise((r) => setTimeout(r, 20))
}

beforeAll(async () => {
  server = await startPrivateServer()
  const db = await open()
  await ensureSchema(db, { migrationsFolder: 'factories/migrations' })
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
}, 120_000)

afterEach(() => {
  expect(uncaught).toEqual([])
})

afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  process.off('unhandledRejection', onUncaught)
  await Promise.allSettled(opened.map((db) => db.close()))
  await server?.destroy()
})

describe('a server restart', () => {
  it('while the pool is idle and a run holds its lease: createRun settles, the run learns its lease was lost, and its next cleanup renews it', async () => {
    const db = await open()
    const run = await createRun({ db, factories })
    const scope = run.scope('before the restart')
    await scope.bind(factories).users.createList(3)
    expect(run.lease).toEqual({ held: true, lost: 0 })

    await server.restart()
    await waitFor(() => run.lease?.held === false, 2000)
    expect(run.lease).toEqual({ held: false, lost: 1 })

    const next = await within(15_000, createRun({ db, factories }))
    expect(next.error).toBeUndefined()
    expect(await within(15_000, scope.cleanup())).toMatchObject({ value: { deleted: { 'public.users': 3 } } })
    expect(run.lease).toEqual({ held: true, lost: 1 })
    expect(await isLeaseHeld(db, run.prefix)).toBe(true)
    expect((await run.close()).lease).toEqual({ held: true, lost: 1 })
    expect(await isLeaseHeld(db, run.prefix)).toBe(false)
    await next.value!.close()
  })

  it('after a failed query: createRun settles with no uncaught exception (a dropped connection is never reused)', async () => {
    const db = await open()
    const run = await createRun({ db, factories })
    await expect(db.execute('select 1 / 0')).rejects.toMatchObject({ code: '22012' })
    await server.restart()
    await expect(db.execute('select 1 / 0')).rejects.toBeDefined() // whatever the pool says first
    const next = await within(15_000, createRun({ db, factories }))
    expect(next.error).toBeUndefined()
    for (const r of [run, next.value!]) expect((await within(15_000, r.close())).value).toMatchObject({ clean: true })
    expect(await within(5_000, db.execute('select 1 as one'))).toMatchObject({ value: [{ one: 1 }] })
  })

  it('during cleanups, three times: each cleanup settles (done, or DB_CONNECTION_LOST), the next one finishes the job, nothing half-deleted', async () => {
    const db = await open()
    const run = await createRun({ db, factories })
    const outcomes: string[] = []
    for (let round = 0; round < 3; round++) {
      const scopes = Array.from({ length: 4 }, (_, i) => run.scope(`round ${round} scope ${i}`))
      await Promise.all(scopes.map(async (s) => Promise.all(Array.from({ length: 25 }, () => bookingScenario(s)))))
      const cleanups = scopes.map((s) => within(30_000, s.cleanup()))
      await new Promise((r) => setTimeout(r, 5))
      await server.restart()
      for (const { value, error } of await Promise.all(cleanups)) {
        if (error === undefined) outcomes.push(`deleted ${value!.total}`)
        else {
          expect(isLeaklessError(error) && error.code).toBe('DB_CONNECTION_LOST')
          outcomes.push('lost')
        }
      }
      for (const s of scopes) await s.cleanup()
      for (const s of scopes) expect(await ownedRows(db, s.prefix)).toBe(0)
    }
    console.log(`cleanups across restarts: ${outcomes.join(', ')}`)
    expect(await within(5_000, db.execute('select 1 as one'))).toMatchObject({ value: [{ one: 1 }] })
    expect(await run.close()).toMatchObject({ clean: true })
  })

  it('while the server is down: cleanup, close and createRun fail with DB_CONNECTION_LOST within a bound; once it is back, cleanup finishes the job', async () => {
    const db = await open()
    const run = await createRun({ db, factories })
    const scope = run.scope('server down')
    await bookingScenario(scope)
    await server.stop()
    try {
      const attempts: Array<() => Promise<unknown>> = [
        () => scope.cleanup(),
        () => createRun({ db, factories }),
        () => db.execute('select 1'),
        () => scope.bind(factories).users.create(),
      ]
      for (const attempt of attempts) {
        const { error, ms } = await within(30_000, attempt())
        expect(error).toMatchObject({ name: 'ConnectionError', code: 'DB_CONNECTION_LOST' })
        expect((error as Error).message).toContain('went away')
        expect(ms).toBeLessThan(20_000)
      }
    } finally {
      await server.start()
    }
    expect(await within(15_000, scope.cleanup())).toMatchObject({ value: { total: 3 } })
    expect(await ownedRows(db, scope.prefix)).toBe(0)
    const closed = await within(15_000, run.close())
    expect(closed.value).toMatchObject({ clean: true, lease: { held: true, lost: 1 } })
  })
})

describe('migrations', () => {
  it('a restart during ensureSchema fails it with MIGRATION_FAILED, and the pool keeps working (the dropped lock connection is not reused)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'leakless-slow-migration-'))
    mkdirSync(join(folder, 'meta'))
    const entry = { idx: 0, version: '7', when: Date.now(), tag: '0000_slow', breakpoints: true }
    writeFileSync(
      join(folder, 'meta', '_journal.json'),
      JSON.stringify({ version: '7', dialect: 'postgresql', entries: [entry] }),
    )
    writeFileSync(
      join(folder, '0000_slow.sql'),
      'select pg_sleep(3);\n--> statement-breakpoint\ncreate table slow_marker (id int);\n',
    )
    const db = await open()
    try {
      const migrating = ensureSchema(db, { migrationsFolder: folder }).catch((e: unknown) => e)
      await new Promise((r) => setTimeout(r, 700))
      await server.restart()
      expect(await within(15_000, migrating)).toMatchObject({
        value: { name: 'ConnectionError', code: 'MIGRATION_FAILED' },
      })
      await poolWorks(db)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

describe('transactions', () => {
  it('a connection that drops inside a transaction rejects it with DB_CONNECTION_LOST, with no uncaught exception from the driver', async () => {
    const db = await open()
    const transaction = db
      .transaction(async (run) => {
        await run('select 1')
        await run('select pg_sleep(3)')
      })
      .then(
        () => ({ error: undefined }),
        (error: unknown) => ({ error }),
      )
    await new Promise((r) => setTimeout(r, 500))
    await server.restart()
    expect((await within(15_000, transaction)).value).toMatchObject({
      error: { name: 'ConnectionError', code: 'DB_CONNECTION_LOST' },
    })
    await poolWorks(db)
  })
})

describe('closing', () => {
  it('db.close() is prompt with a live run, and ends its lease', async () => {
    const db = await open()
    const observer = await open()
    const run: RunContext = await createRun({ db, factories })
    expect(await isLeaseHeld(observer, run.prefix)).toBe(true)
    const { ms, error } = await within(5_000, db.close())
    expect(error).toBeUndefined()
    expect(ms).toBeLessThan(1000)
    await waitFor(() => false, 100)
    expect(await isLeaseHeld(observer, run.prefix)).toBe(false)
    expect(run.lease?.held).toBe(false)
  })

  it('db.close() after a restart settles promptly', async () => {
    const db = await open()
    const run = await createRun({ db, factories })
    await bookingScenario(run.scope('before'))
    await server.restart()
    const { ms, error } = await within(10_000, db.close())
    expect(error).toBeUndefined()
    expect(ms).toBeLessThan(2000)
  })
})

describe('a server that does not answer', () => {
  it('fails the statement with DB_TIMEOUT after queryTimeoutMs, and cancels it on the server', async () => {
    const db = await open({ queryTimeoutMs: 500 })
    const { error, ms } = await within(10_000, db.execute('select pg_sleep(30)'))
    expect(error).toMatchObject({ name: 'ConnectionError', code: 'DB_TIMEOUT' })
    expect((error as Error).message).toContain('did not answer within 500 ms')
    expect(ms).toBeLessThan(2000)
    const observer = await open()
    await waitFor(() => false, 300)
    const sleeping = await observer.execute(
      `select pid from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'`,
    )
    expect(sleeping).toEqual([])
  })
})

describe('unix sockets', () => {
  it('connect() takes a libpq-style socket URL (postgres://user@/db?host=/dir), and the guard treats it as local', async () => {
    const previous = process.env.LEAKLESS_ALLOW_REMOTE
    delete process.env.LEAKLESS_ALLOW_REMOTE
    try {
      const db = await connect({ url: server.socketUrl })
      opened.push(db)
      expect(db.target.host).toBe(server.socketDir)
      const [row] = await db.execute<{ addr: string | null }>('select inet_server_addr()::text as addr')
      expect(row!.addr).toBeNull() // really over the socket
      const run = await createRun({ db, factories })
      const scope = run.scope('over a socket')
      await bookingScenario(scope)
      expect((await scope.cleanup()).total).toBe(3)
      expect(await run.close()).toMatchObject({ clean: true })
    } finally {
      if (previous !== undefined) process.env.LEAKLESS_ALLOW_REMOTE = previous
    }
  })
})
