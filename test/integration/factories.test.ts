import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { createRun, isLeaklessError, type InsertError, type RunContext } from '../../src/index.js'
import type { Database } from '../../src/db/index.js'
import { bookingScenario, factories, users } from '../../factories/index.js'
import { deleteByPrefix, drivers } from './drivers.js'

const THIS_FILE = /test\/integration\/factories\.test\.ts:\d+:\d+$/

describe.each(drivers)('factories on $name', (driver) => {
  let db: Database
  let run: RunContext
  const statements: string[] = []

  beforeAll(async () => {
    db = await driver.open({ logQuery: (query) => void statements.push(query) })
    run = await createRun({ db })
  })

  afterAll(async () => {
    if (run) await deleteByPrefix(db, run.runPrefix)
    await db?.close()
  })

  it('create returns the real row, with the database defaults', async () => {
    const scope = run.scope('create')
    const { users: u } = scope.bind(factories)
    const before = Date.now()
    const user = await u.create({ name: 'Ada' })
    expect(user).toMatchObject({ name: 'Ada', role: 'parent' })
    expect(user.id.startsWith(scope.prefix)).toBe(true)
    expect(user.createdAt).toBeInstanceOf(Date)
    expect(Math.abs(user.createdAt.getTime() - before)).toBeLessThan(60_000)
    const [stored] = await db.execute<{ email: string }>('select email from users where id = $1', [user.id])
    expect(stored?.email).toBe(user.email)
  })

  it('createList(1000) sends exactly one INSERT to the server (counted by the driver)', async () => {
    const sent: string[] = []
    const counted = await driver.openCounting((text) => void sent.push(text))
    const countedRun = await createRun({ db: counted })
    const { users: u } = countedRun.scope('list').bind(factories)
    sent.length = 0 // the health check and migrations of openCounting are not ours
    const rows = await u.createList(1000)
    // The run knew no tag column of users yet: the statement records id and email in the registry too.
    expect(sent.filter((s) => /^\s*with ins as \(insert into "users"/i.test(s))).toHaveLength(1)
    expect(sent).toHaveLength(1)
    sent.length = 0
    await u.createList(1000)
    expect(sent.filter((s) => /^\s*insert into "users"/i.test(s))).toHaveLength(1) // nothing new to record
    expect(sent).toHaveLength(1)
    expect(new Set(rows.map((r) => r.id)).size).toBe(1000)
    const [count] = await counted.execute<{ n: number }>('select count(*)::int as n from users where id = any($1)', [
      rows.map((r) => r.id),
    ])
    expect(count?.n).toBe(1000)
    expect((await countedRun.close()).cleanup.total).toBe(2000) // also releases the run's lease
    await counted.close()
  })

  it('lists keep every value exactly, whatever characters it holds', async () => {
    const { users: u } = run.scope('characters').bind(factories)
    const names = ['a "quoted", name', 'back\\slash {brace}', 'NULL', '', 'ünïcödé ✓']
    const rows = await Promise.all(names.map(() => u.createList(2, { name: '' })))
    expect(rows.flat()).toHaveLength(10)
    const made = await u.createList(names.length)
    const updated = await Promise.all(
      made.map((row, i) => u.createList(2, { name: names[i]! }).then((list) => list.map((r) => r.name))),
    )
    expect(updated).toEqual(names.map((name) => [name, name]))
  })

  it('SQL expressions in overrides go through drizzle and still return typed rows', async () => {
    const scope = run.scope('sql override')
    const { users: u } = scope.bind(factories)
    const user = await u.create({ createdAt: sql`now() - interval '1 day'` as unknown as Date })
    expect(user.createdAt).toBeInstanceOf(Date)
    expect(Date.now() - user.createdAt.getTime()).toBeGreaterThan(23 * 3600_000)
    expect(scope.ledger.entries.map((e) => e.key.id)).toEqual([user.id])
  })

  it('a list with associations makes one INSERT per table, reusing nothing', async () => {
    const { bookings: b } = run.scope('list refs').bind(factories)
    statements.length = 0
    const rows = await b.createList(50)
    expect(statements).toHaveLength(3) // parents, instructors, bookings
    expect(new Set(rows.map((r) => r.parentId)).size).toBe(50)
    expect(new Set(rows.map((r) => r.instructorId)).size).toBe(50)
  })

  it('the ledger lists every row, including those made through associations and hooks', async () => {
    const scope = run.scope('ledger')
    const withSession = users.afterCreate(async (row, ctx) => {
      await ctx.scope.bind(factories).sessions.create({ userId: row.id })
    })
    const f = scope.bind({ ...factories, withSession })
    const booking = await f.bookings.create()
    const user = await f.withSession.create()
    const created = scope.created
    expect(Object.keys(created).sort()).toEqual(['public.bookings', 'public.sessions', 'public.users'])
    expect(created['public.users']!.map((e) => e.key.id).sort()).toEqual(
      [booking.parentId, booking.instructorId, user.id].sort(),
    )
    expect(created['public.bookings']![0]).toMatchObject({
      key: { id: booking.id },
      tag: booking.id,
      tagColumns: ['id'], // the parents' ids in its foreign keys say who its parents are, not who owns it
      scope: scope.number,
      test: 'ledger',
      factory: 'bookings',
    })
    for (const entry of scope.ledger.entries) expect(entry.caller).toMatch(THIS_FILE)
    expect(created['public.sessions']![0]!.tagColumns).toEqual(['id'])
  })

  it('bookingScenario returns a parent, an instructor and a confirmed booking', async () => {
    const { parent, instructor, booking } = await bookingScenario(run.scope('scenario'))
    expect([parent.role, instructor.role, booking.status]).toEqual(['parent', 'instructor', 'confirmed'])
    expect([booking.parentId, booking.instructorId]).toEqual([parent.id, instructor.id])
  })

  it('5 parallel bookings of one instructor slot: exactly 1 succeeds, 4 get an InsertError naming the constraint', async () => {
    const scope = run.scope('double booking')
    const f = scope.bind(factories)
    const instructor = await f.users.trait('instructor').create()
    const slot = new Date('2031-03-04T10:00:00Z')
    const attempts = await Promise.allSettled(
      Array.from({ length: 5 }, () => f.bookings.create({ instructorId: instructor, scheduledAt: slot })),
    )
    const failures = attempts.filter((a) => a.status === 'rejected').map((a) => a.reason as InsertError)
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1)
    expect(failures).toHaveLength(4)
    for (const error of failures) {
      expect(isLeaklessError(error)).toBe(true)
      expect(error.code).toBe('INSERT_UNIQUE_VIOLATION')
      expect(error.message).toContain('Factory "bookings" could not insert into public.bookings')
      expect(error.message).toContain('bookings_instructor_slot_key')
      expect(error.details).toMatchObject({
        constraint: 'bookings_instructor_slot_key',
        column: 'instructor_id, scheduled_at',
      })
      expect((error.cause as { code?: string }).code).toBe('23505') // the driver's error
    }
  })

  it('a unique violation names the column and value and says how to fix it', async () => {
    const { users: u } = run.scope('unique').bind(factories)
    const first = await u.create()
    const error = (await u.create({ email: first.email }).catch((e: unknown) => e)) as InsertError
    expect(error.code).toBe('INSERT_UNIQUE_VIOLATION')
    expect(error.message).toBe(
      `Factory "users" could not insert into public.users: unique violation on users_email_unique (email = ${JSON.stringify(first.email)}). Derive unique columns from f.id() or f.email(), or pass a value no other row has.`,
    )
  })

  it('a foreign key violation is an InsertError too', async () => {
    const { sessions: s } = run.scope('fk').bind(factories)
    await expect(s.create({ userId: 'nobody' })).rejects.toMatchObject({
      code: 'INSERT_FOREIGN_KEY_VIOLATION',
      details: { constraint: 'sessions_user_id_users_id_fk', column: 'user_id', value: 'nobody' },
    })
  })
})
