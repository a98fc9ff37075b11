/**
 * `cleanup: 'background'` under the adapters (openWorkerRun) on real PostgreSQL: a test's cleanup runs on
 * its own connection while the next tests insert, the close waits for it before the audit, and a cleanup
 * that fails there comes back with its test's name while the cleanups after it still run.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { factories } from '../../factories/index.js'
import type { ResolvedConfig } from '../../src/config/index.js'
import { connect, type Database } from '../../src/db/index.js'
import { isLeaklessError } from '../../src/errors.js'
import { openWorkerRun } from '../../src/lifecycle/index.js'
import type { TestScope } from '../../src/run/index.js'
import { databaseUrl } from './drivers.js'

const background: ResolvedConfig = { file: null, cleanup: 'background' }

/** A test's rows: 2 users (parent, instructor), 2 sessions, 3 bookings. */
async function graph(scope: TestScope): Promise<string> {
  const f = scope.bind(factories)
  const [parent, instructor] = await f.users.createList(2)
  await f.sessions.createList(2, { userId: parent! })
  await f.bookings.createList(3, { parentId: parent!, instructorId: instructor! })
  return parent!.id
}

describe("openWorkerRun with cleanup: 'background'", () => {
  let admin: Database
  const schema = `lk_bg_${randomBytes(3).toString('hex')}`
  const count = async (prefix: string) => {
    const [row] = await admin.execute<{ n: number }>(
      `select (select count(*) from users where starts_with(id, $1)) + (select count(*) from sessions where starts_with(id, $1)) + (select count(*) from bookings where starts_with(id, $1)) as n`,
      [prefix],
    )
    return Number(row!.n)
  }

  beforeAll(async () => {
    admin = await connect()
    // A table of this file alone, with a nullable untagged reference to users: cleanup refuses such rows.
    await admin.execute(
      `create schema ${schema}; create table ${schema}.notes (id serial primary key, user_id text references public.users(id))`,
    )
  })
  afterAll(async () => {
    await admin.execute(`drop table if exists ${schema}.notes; drop schema if exists ${schema}`)
    await admin.close()
  })

  it("a test's cleanup waits for a lock while the next tests insert; the close waits for it; all gone, audit clean", async () => {
    const worker = await openWorkerRun({ config: background, factories })
    expect(worker.cleanup).toBe('background')
    const locker = postgres(databaseUrl(), { max: 1, onnotice: () => {} })
    try {
      const first = worker.run.scope('first')
      const parent = await graph(first)
      // Another session holds the first test's user: its cleanup cannot finish until that ends.
      const held = await locker.reserve()
      await held`begin`
      await held`select id from users where id = ${parent} for update`
      expect(await worker.cleanupTest(first)).toBeNull()

      // The next tests run meanwhile (the queue's limit is 4: these three fit behind the first).
      const next: TestScope[] = []
      for (const name of ['second', 'third', 'fourth']) {
        const scope = worker.run.scope(name)
        await graph(scope)
        expect(await worker.cleanupTest(scope)).toBeNull()
        next.push(scope)
      }
      expect(await count(first.prefix)).toBe(7)
      await held`commit`
      held.release()
      // The queue runs on its own, before any close.
      await vi.waitFor(async () => expect(await count(worker.run.prefix)).toBe(0), { timeout: 10_000 })

      const closed = await worker.close()
      expect(closed.background).toEqual([])
      expect(closed.clean).toBe(true)
      expect(closed.report.leftBehind.clean).toBe(true)
      expect(closed.report.cleanup.total).toBe(0)
      expect(worker.run.ledger.size).toBe(0)
    } finally {
      await locker.end()
    }
  })

  it('a cleanup that fails in the background comes back at close with its test; the cleanups after it ran', async () => {
    const worker = await openWorkerRun({ config: { ...background, schemas: ['public', schema] }, factories })
    const bad = worker.run.scope('leaves a note')
    const user = await bad.bind(factories).users.create()
    await admin.execute(`insert into ${schema}.notes (user_id) values ($1)`, [user.id])
    await worker.cleanupTest(bad)
    const good = worker.run.scope('fine')
    await graph(good)
    await worker.cleanupTest(good)
    // The queue runs in order: once the second test's rows are gone, the first one's cleanup has failed.
    await vi.waitFor(async () => expect(await count(good.prefix)).toBe(0), { timeout: 10_000 })
    expect(await count(bad.prefix)).toBe(1)
    await admin.execute(`delete from ${schema}.notes where user_id = $1`, [user.id])

    const closed = await worker.close()
    expect(closed.background).toHaveLength(1)
    const [failure] = closed.background
    expect(failure!.test).toBe('leaves a note')
    expect(failure!.prefix).toBe(bad.prefix)
    expect(isLeaklessError(failure!.error) && failure!.error.code).toBe('CLEANUP_NULLABLE_DEPENDENT')
    // The worker's cleanup deleted the user once the note was gone.
    expect(closed.clean).toBe(true)
    expect(closed.report.cleanup.deleted).toEqual({ 'public.users': 1 })
    expect(await count(worker.run.prefix)).toBe(0)
  })

  it("isolation 'transaction' ignores it: rollback, never a queue", async () => {
    const worker = await openWorkerRun({ config: { ...background, isolation: 'transaction' }, factories })
    try {
      expect(worker.cleanup).toBe('after-each')
      const scope = worker.run.scope('after each')
      await graph(scope)
      expect((await worker.cleanupTest(scope))?.total).toBe(7)
    } finally {
      expect((await worker.close()).clean).toBe(true)
    }
  })
})
