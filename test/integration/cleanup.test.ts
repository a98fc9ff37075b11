import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { bigserial, integer, pgSchema } from 'drizzle-orm/pg-core'
import { cleanupPrefix, cleanupRun, createRun, defineFactory, type RunContext } from '../../src/index.js'
import type { CleanupError } from '../../src/errors.js'
import { invalidateSchema, type Database } from '../../src/db/index.js'
import { cachedSchema } from '../../src/db/introspect.js'
import { planCleanup } from '../../src/cleanup/delete-plan.js'
import { tagColumnsOf } from '../../src/cleanup/execute.js'
import { factories } from '../../factories/index.js'
import { deleteByPrefix, drivers } from './drivers.js'

/** Another session locks a user row (SELECT … FOR UPDATE) until `release()`. */
async function holdRowLock(db: Database, userId: string): Promise<{ release: () => Promise<void>; pid: number }> {
  let release!: () => void
  const held = new Promise<void>((done) => (release = done))
  let locked!: (pid: number) => void
  const isLocked = new Promise<number>((done) => (locked = done))
  const holder = db.transaction(async (exec) => {
    await exec(`select set_config('application_name', 'row-locker', true)`)
    await exec('select id from users where id = $1 for update', [userId])
    const [me] = await exec<{ pid: number }>('select pg_backend_pid() as pid')
    locked(me!.pid)
    await held
  })
  const pid = await isLocked
  return { release: () => (release(), holder), pid }
}

const counterTable = (schema: string) =>
  pgSchema(schema).table('counter', { id: bigserial('id', { mode: 'number' }).primaryKey(), n: integer('n').notNull() })

/** What the plan's count statement says a cleanup of `prefix` would delete (it deletes nothing). */
async function countByPlan(db: Database, prefix: string, schemas: string[]): Promise<Record<string, number>> {
  const graph = await cachedSchema(db, { schemas })
  const plan = planCleanup(graph, { prefix, tagColumns: tagColumnsOf(graph), keys: new Map() })
  const rows = await db.execute<{ table: string; deleted: number }>(plan.count!.text, plan.count!.params)
  return Object.fromEntries(rows.filter((row) => row.deleted > 0).map((row) => [row.table, row.deleted]))
}

describe.each(drivers)('cleanup on $name', (driver) => {
  let db: Database
  let run: RunContext
  let counters: ReturnType<typeof counterTable>
  const schema = `cleanup_${randomBytes(4).toString('hex')}`

  beforeAll(async () => {
    db = await driver.open()
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${schema}.parent (id text primary key)`)
    await db.execute(`create table ${schema}.counter (id bigserial primary key, n int not null)`)
    await db.execute(
      `create table ${schema}.comment (id text primary key, parent_id text references ${schema}.comment (id))`,
    )
    await db.execute(
      `create table ${schema}.note (id bigserial primary key, parent_id text references ${schema}.parent (id))`,
    )
    counters = counterTable(schema)
    run = await createRun({ db, cleanup: { schemas: ['public', schema] } })
    await db.execute(
      `create table ${schema}.pin (id bigserial primary key, parent_id text not null references ${schema}.parent (id) on delete restrict)`,
    )
  })

  afterAll(async () => {
    if (run) await deleteByPrefix(db, run.runPrefix)
    await db?.execute(`drop schema if exists ${schema} cascade`)
    await db?.close()
  })

  it('deletes what a scope made, the activity the app wrote for it, and nothing else', async () => {
    const publicOnly = await createRun({ db, runTag: run.runTag })
    const scope = publicOnly.scope('books a lesson')
    const other = publicOnly.scope('another test')
    const f = scope.bind(factories)
    const parent = await f.users.create()
    await f.sessions.createList(2, { userId: parent })
    const bookings = await f.bookings.createList(3, { parentId: parent })
    // The app under test writes activity with plain SQL: no factory, no tag.
    for (const userId of [parent.id, bookings[0]!.instructorId]) {
      await db.execute('insert into activity (user_id, action) values ($1, $2)', [userId, 'signed in'])
    }
    const kept = await other.bind(factories).bookings.create()
    const counted = await countByPlan(db, scope.prefix, ['public'])
    const report = await scope.cleanup()
    expect(counted).toEqual(report.deleted)
    expect(report.deleted).toEqual({
      'public.users': 4,
      'public.sessions': 2,
      'public.bookings': 3,
      'public.activity': 2,
    })
    expect(report.total).toBe(11)
    expect(report.mode).toBe('single')
    const [left] = await db.execute<{ n: number }>(
      `select (select count(*) from users where id like $1) + (select count(*) from bookings where id like $1)
        + (select count(*) from activity where user_id like $1) as n`,
      [`${scope.prefix}%`],
    )
    expect(Number(left?.n)).toBe(0)
    const [still] = await db.execute<{ id: string }>('select id from bookings where id = $1', [kept.id])
    expect(still?.id).toBe(kept.id)
  })

  it('plans again from the live schema when a table it knew was dropped', async () => {
    const table = `gone_${randomBytes(3).toString('hex')}`
    await db.execute(`create table ${schema}.${table} (id text primary key)`)
    const scope = run.scope('drops its own table')
    await db.execute(`insert into ${schema}.${table} (id) values ($1)`, [scope.id()])
    invalidateSchema(db)
    expect((await scope.cleanup()).deleted).toEqual({ [`${schema}.${table}`]: 1 }) // caches the table
    await db.execute(`drop table ${schema}.${table}`)
    const user = await scope.bind(factories).users.create()
    expect((await scope.cleanup()).deleted).toEqual({ 'public.users': 1 })
    expect(await db.execute('select 1 from users where id = $1', [user.id])).toEqual([])
  })

  it('is idempotent: a second cleanup deletes nothing and does not fail', async () => {
    const scope = run.scope('twice')
    await scope.bind(factories).bookings.create()
    expect((await scope.cleanup()).total).toBe(3)
    expect(await scope.cleanup()).toMatchObject({ total: 0, deleted: {} })
  })

  it('run.cleanup() deletes every scope of the worker; cleanupRun(tag) the whole run', async () => {
    const worker = await createRun({ db, runTag: run.runTag })
    const sibling = await createRun({ db, runTag: run.runTag })
    await worker.scope('a').bind(factories).users.create()
    await worker.scope('b').bind(factories).bookings.create()
    await worker.outside.bind(factories).users.create()
    const siblingUser = await sibling.scope('c').bind(factories).users.create()
    expect(await worker.cleanup()).toMatchObject({ prefix: worker.prefix, total: 5 })
    const [left] = await db.execute('select id from users where id = $1', [siblingUser.id])
    expect(left).toBeDefined()
    expect((await cleanupRun(db, run.runTag)).deleted['public.users']).toBeGreaterThanOrEqual(1)
    expect(await db.execute('select id from users where id like $1', [`${run.runTag}-%`])).toEqual([])
  })

  it('cleans rows the ledger recorded without a tag', async () => {
    const scope = run.scope('untagged')
    const numbered = defineFactory(counters, () => ({ n: 7 }))
    const rows = await scope.bind({ numbered }).numbered.createList(2)
    expect(scope.ledger.entries.map((e) => e.tag)).toEqual([null, null])
    const report = await scope.cleanup()
    expect(report.deleted).toEqual({ [`${schema}.counter`]: 2 })
    expect(await db.execute(`select id from ${schema}.counter where id = any($1)`, [rows.map((r) => r.id)])).toEqual([])
  })

  it('deletes ledger rows that carry no tag', async () => {
    const scope = run.scope('ledger only')
    const user = await scope.bind(factories).users.create()
    const [row] = await db.execute<{ id: number }>(
      'insert into activity (user_id, action) values ($1, $2) returning id',
      [user.id, 'x'],
    )
    // A second, untagged activity row of a user that is not ours would block the delete: keep ours only.
    const report = await cleanupPrefix(db, scope.prefix, { keys: new Map([['public.activity', [{ id: row!.id }]]]) })
    expect(report.deleted).toEqual({ 'public.users': 1, 'public.activity': 1 })
  })

  describe('a dependent through a nullable foreign key without a tag', () => {
    const prefix = () => `${run.prefix}9-`
    const setup = async () => {
      const id = `${prefix()}${randomBytes(3).toString('hex')}`
      await db.execute(`insert into ${schema}.parent (id) values ($1)`, [id])
      const [note] = await db.execute<{ id: string }>(
        `insert into ${schema}.note (parent_id) values ($1) returning id`,
        [id],
      )
      return { id, noteId: note!.id }
    }
    const options = { schemas: [schema] }

    it('fails loudly, naming table, column and row, and deletes nothing', async () => {
      invalidateSchema(db)
      const { id, noteId } = await setup()
      const error = await cleanupPrefix(db, prefix(), options).catch((e: unknown) => e)
      expect(error).toMatchObject({ name: 'CleanupError', code: 'CLEANUP_NULLABLE_DEPENDENT' })
      expect((error as Error).message).toContain(`${schema}.note.parent_id references a row this cleanup owns`)
      expect((error as Error).message).toContain(`"id":${noteId}`)
      expect((error as Error).message).toContain(`nullableDependents: { '${schema}.note': 'detach' }`)
      const [parent] = await db.execute(`select id from ${schema}.parent where id = $1`, [id])
      expect(parent).toBeDefined()
      await db.execute(`delete from ${schema}.note where id = $1`, [noteId])
      await cleanupPrefix(db, prefix(), options)
    })

    it('detaches the reference when the config says detach', async () => {
      const { id, noteId } = await setup()
      const report = await cleanupPrefix(db, prefix(), {
        ...options,
        nullableDependents: { [`${schema}.note`]: 'detach' },
      })
      expect(report.deleted).toEqual({ [`${schema}.parent`]: 1 })
      const [note] = await db.execute<{ parent_id: string | null }>(
        `select parent_id from ${schema}.note where id = $1`,
        [noteId],
      )
      expect(note).toEqual({ parent_id: null })
      expect(await db.execute(`select id from ${schema}.parent where id = $1`, [id])).toEqual([])
    })

    it('deletes it when the config says delete', async () => {
      await setup()
      const report = await cleanupPrefix(db, prefix(), {
        ...options,
        nullableDependents: { [`${schema}.note`]: 'delete' },
      })
      expect(report.deleted).toEqual({ [`${schema}.parent`]: 1, [`${schema}.note`]: 1 })
    })
  })

  it('falls back to ordered statements for RESTRICT foreign keys, children first', async () => {
    const prefix = `${run.prefix}8-`
    await db.execute(`insert into ${schema}.parent (id) values ($1)`, [`${prefix}p`])
    await db.execute(`insert into ${schema}.pin (parent_id) values ($1), ($1)`, [`${prefix}p`])
    const counted = await countByPlan(db, prefix, [schema])
    const report = await cleanupPrefix(db, prefix, { schemas: [schema] })
    expect(report).toMatchObject({ mode: 'ordered', deleted: { [`${schema}.parent`]: 1, [`${schema}.pin`]: 2 } })
    expect(counted).toEqual(report.deleted)
  })

  if (driver.name === 'postgres')
    it('waits at most lockTimeoutMs for a lock another session holds, deletes nothing, and the next cleanup finishes', async () => {
      const scope = run.scope('locked')
      const user = await scope.bind(factories).users.create()
      await scope.bind(factories).sessions.create({ userId: user })
      const lock = await holdRowLock(db, user.id)
      const started = Date.now()
      const error = await cleanupPrefix(db, scope.prefix, { lockTimeoutMs: 200 }).catch((e: unknown) => e)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(error).toMatchObject({ name: 'CleanupError', code: 'CLEANUP_LOCK_TIMEOUT' })
      expect((error as Error).message).toContain('nothing was deleted')
      // It names the session that holds the lock: pid, application_name, state, the start of its query.
      expect((error as CleanupError).details.blockers).toEqual([
        expect.objectContaining({ pid: lock.pid, applicationName: 'row-locker', state: 'idle in transaction' }),
      ])
      expect((error as Error).message).toContain(`pid ${lock.pid} (application_name "row-locker", idle in transaction`)
      expect((error as Error).message).toContain('select pg_backend_pid()')
      const [session] = await db.execute('select id from sessions where user_id = $1', [user.id])
      expect(session).toBeDefined() // all or nothing: the sessions were not deleted either
      await lock.release()
      expect((await scope.cleanup()).deleted).toEqual({ 'public.users': 1, 'public.sessions': 1 })
    })

  if (driver.name === 'postgres')
    it('a connection dropped mid-cleanup loses nothing: rolled back, and the cleanup runs again on a new connection', async () => {
      const scope = run.scope('dropped')
      const user = await scope.bind(factories).users.create()
      await scope.bind(factories).sessions.create({ userId: user })
      const lock = await holdRowLock(db, user.id)
      // The cleanup's one statement blocks on the row lock (up to the 5 s lock_timeout); its session is killed.
      const cleanup = cleanupPrefix(db, scope.prefix).catch((e: unknown) => e)
      let victim: number | undefined
      for (let i = 0; i < 100 && victim === undefined; i++) {
        const [row] = await db.execute<{ pid: number }>(
          `select pid from pg_stat_activity where wait_event_type = 'Lock' and query like 'with %' and datname = current_database()`,
        )
        victim = row?.pid
        if (victim === undefined) await new Promise((done) => setTimeout(done, 50))
      }
      expect(victim).toBeDefined()
      await db.execute('select pg_terminate_backend($1)', [victim])
      // The killed statement deleted nothing; the retry waits for the lock again.
      await new Promise((done) => setTimeout(done, 300))
      const [session] = await db.execute('select id from sessions where user_id = $1', [user.id])
      expect(session).toBeDefined()
      await lock.release()
      expect(await cleanup).toMatchObject({ deleted: { 'public.users': 1, 'public.sessions': 1 } })
      expect(await db.execute('select id from users where id = $1', [user.id])).toEqual([])
    })

  it('follows foreign-key cycles to a fixpoint and deletes the whole owned cycle in one statement', async () => {
    const cyc = `${schema}_cycle`
    const prefix = `${run.prefix}6-`
    await db.execute(`create schema ${cyc}`)
    try {
      await db.execute(`create table ${cyc}.team (id text primary key, owner_id text not null)`)
      await db.execute(
        `create table ${cyc}.member (id text primary key, team_id text not null references ${cyc}.team (id) deferrable initially deferred)`,
      )
      await db.execute(
        `alter table ${cyc}.team add foreign key (owner_id) references ${cyc}.member (id) deferrable initially deferred`,
      )
      await db.transaction(async (exec) => {
        // Ours: team t1 owned by member m1. Not tagged, but unable to exist without them: member x of
        // t1, and team y owned by x (found only on the second pass). Unrelated: team z with member w.
        await exec(`insert into ${cyc}.team values ($1, $2), ('other-y', 'other-x'), ('other-z', 'other-w')`, [
          `${prefix}t1`,
          `${prefix}m1`,
        ])
        await exec(`insert into ${cyc}.member values ($1, $2), ('other-x', $2), ('other-w', 'other-z')`, [
          `${prefix}m1`,
          `${prefix}t1`,
        ])
      })
      const dry = await cleanupPrefix(db, prefix, { schemas: [cyc], dryRun: true })
      expect(dry).toMatchObject({ mode: 'fixpoint', deleted: { [`${cyc}.member`]: 2, [`${cyc}.team`]: 2 } })
      expect(await db.execute(`select id from ${cyc}.team order by id`)).toHaveLength(3) // the dry run deleted nothing
      const report = await cleanupPrefix(db, prefix, { schemas: [cyc] })
      expect(report.deleted).toEqual({ [`${cyc}.member`]: 2, [`${cyc}.team`]: 2 })
      expect(await db.execute(`select id from ${cyc}.team order by id`)).toEqual([{ id: 'other-z' }])
      expect(await db.execute(`select id from ${cyc}.member order by id`)).toEqual([{ id: 'other-w' }])
      expect((await cleanupPrefix(db, prefix, { schemas: [cyc] })).total).toBe(0)
    } finally {
      await db.execute(`drop schema ${cyc} cascade`)
    }
  })

  it('deletes a self-referencing tree of owned rows in one statement', async () => {
    const prefix = `${run.prefix}7-`
    await db.execute(`insert into ${schema}.comment (id, parent_id) values ($1, null), ($2, $1), ($3, $2)`, [
      `${prefix}root`,
      `${prefix}reply`,
      `${prefix}reply-to-reply`,
    ])
    const report = await cleanupPrefix(db, prefix, { schemas: [schema] })
    expect(report.deleted[`${schema}.comment`]).toBe(3)
  })

  it('names an unknown table or tag column in the config', async () => {
    const scope = run.scope('bad config')
    await expect(cleanupPrefix(db, scope.prefix, { tagColumns: { 'public.nope': ['id'] } })).rejects.toMatchObject({
      code: 'UNKNOWN_TABLE',
    })
    await expect(cleanupPrefix(db, scope.prefix, { tagColumns: { 'public.users': ['nope'] } })).rejects.toMatchObject({
      code: 'UNKNOWN_TAG_COLUMN',
    })
  })

  it('is refused by the guard in production', async () => {
    const scope = run.scope('guarded')
    await expect(cleanupPrefix(db, scope.prefix, { guard: { env: { NODE_ENV: 'production' } } })).rejects.toMatchObject(
      {
        code: 'GUARD_PRODUCTION',
      },
    )
  })

  it('rejects prefixes shorter than a run tag', async () => {
    await expect(cleanupPrefix(db, 'a-')).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
    await expect(cleanupPrefix(db, run.runTag)).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
  })
})

describe('the single cleanup statement on postgres', () => {
  it('finds every owned row through an index: no table is scanned whole, whatever its size', async () => {
    const db = await drivers[0]!.open()
    try {
      const graph = await cachedSchema(db, {})
      const plan = planCleanup(graph, {
        prefix: 'mwq0000000abcd-w0p1x000000-1-',
        tagColumns: tagColumnsOf(graph),
        keys: new Map(),
      })
      expect(plan.mode).toBe('single')
      const [statement] = plan.deletes
      // With sequential scans priced out, only a predicate no index can serve still scans the table
      // (an OR of `IN (subquery)` conditions did: a filter over every row of bookings and sessions).
      // Tables of a realistic size, analysed, inside a transaction that is rolled back (statistics too):
      // on near-empty tables (other suites share the database) a whole-index scan costs the same.
      const rollback = Symbol('rollback')
      let lines: string[] = []
      await db
        .transaction(async (exec) => {
          await exec('set local enable_seqscan = off')
          await exec(`insert into users (id, email, name) select 'zz-plan-' || g, 'zz-plan-' || g || '@example.test', 'n'
            from generate_series(1, 2000) g`)
          await exec(`insert into bookings (id, parent_id, instructor_id, scheduled_at, amount_cents)
            select 'zz-plan-b' || g, 'zz-plan-' || g, 'zz-plan-' || g, now(), 1 from generate_series(1, 2000) g`)
          await exec('analyze users, bookings, sessions, activity')
          const rows = await exec<{ 'QUERY PLAN': string }>(`explain ${statement!.text}`, statement!.params)
          lines = rows.map((row) => row['QUERY PLAN'])
          throw rollback
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error
        })
      expect(lines.filter((line) => /Seq Scan/.test(line))).toEqual([])
      expect(lines.join('\n')).toMatch(/(Index (Only )?Scan using|Bitmap Index Scan on) bookings_id_prefix_idx/)
    } finally {
      await db.close()
    }
  })
})
