import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { createRun, type LedgerEntry, type RunContext } from '../../src/index.js'
import { audit, auditToJson, formatAuditReport, leakError, type LeakRow } from '../../src/audit/index.js'
import type { Database } from '../../src/db/index.js'
import { factories } from '../../factories/index.js'
import { deleteByPrefix, drivers } from './drivers.js'

const THIS_FILE = /test\/integration\/audit\.test\.ts:\d+:\d+$/

const byTable = (rows: LeakRow[], table: string) => rows.filter((r) => r.table === table)

describe.each(drivers)('audit on $name', (driver) => {
  let db: Database
  let run: RunContext
  // Rows with ids that are not ours (no prefix): made by this file, deleted by exact id.
  const foreignIds: string[] = []

  beforeAll(async () => {
    db = await driver.open()
    run = await createRun({ db })
  })

  afterAll(async () => {
    if (foreignIds.length > 0) await db.execute('delete from users where id = any($1)', [foreignIds])
    if (run) await deleteByPrefix(db, run.prefix)
    await db?.close()
  })

  const insertForeignUser = async (name: string) => {
    const id = `audit-foreign-${randomBytes(8).toString('hex')}`
    foreignIds.push(id)
    await db.execute('insert into users (id, email, name) values ($1, $2, $3)', [id, `${id}@example.test`, name])
    return id
  }

  it('reports exactly what a leaky scope left, the test and line that made it, and its dependents', async () => {
    const leaky = run.scope('leaks a booking')
    const other = run.scope('another test')
    const booking = await leaky.bind(factories).bookings.create()
    // The app writes activity with plain SQL: no factory, no tag; it cannot exist without its user.
    const [activity] = await db.execute<{ id: unknown }>(
      'insert into activity (user_id, action) values ($1, $2) returning id',
      [booking.parentId, 'booked'],
    )
    const kept = await other.bind(factories).users.create()

    const report = await audit({ db, prefix: leaky.prefix, ledger: leaky.ledger.entries })
    expect(report).toMatchObject({ prefix: leaky.prefix, clean: false, truncated: [] })
    expect(report.tables).toEqual({ 'public.activity': 1, 'public.bookings': 1, 'public.users': 2 })
    // Parents before the rows that depend on them.
    expect(Object.keys(report.tables)).toEqual(['public.users', 'public.activity', 'public.bookings'])
    expect(report.rows).toHaveLength(4)
    expect(byTable(report.rows, 'public.users').map((r) => r.key.id)).toEqual(
      [booking.parentId, booking.instructorId].sort(),
    )
    for (const row of [...byTable(report.rows, 'public.users'), ...byTable(report.rows, 'public.bookings')]) {
      expect(row).toMatchObject({ column: 'id', tag: row.key.id, via: null, test: 'leaks a booking', factory: true })
      expect(row.caller).toMatch(THIS_FILE)
      expect(row.provenance).toMatchObject({ worker: run.worker, pid: run.pid, scopePrefix: leaky.prefix })
      expect(row.ageMs).toBeGreaterThanOrEqual(0)
    }
    const [dependent] = byTable(report.rows, 'public.activity')
    expect(Number(dependent!.key.id)).toBe(Number(activity!.id))
    expect(dependent).toMatchObject({
      column: null,
      tag: null,
      via: 'activity_user_id_users_id_fk',
      test: 'leaks a booking',
      provenance: { worker: run.worker, pid: run.pid, id: booking.parentId },
      // The app wrote it: its test, but not the line of the factory call that made its parent.
      caller: null,
      factory: false,
    })
    expect(report.rows.some((r) => JSON.stringify(r.key).includes(kept.id))).toBe(false)

    const limited = await audit({ db, prefix: leaky.prefix, limit: 1 })
    expect(limited.truncated).toEqual(['public.users'])
    expect(limited.tables['public.users']).toBe(1)

    const text = formatAuditReport(report)
    expect(text.split('\n')[0]).toBe(`leakless audit ${leaky.prefix}: 4 rows left in 3 tables`)
    for (const table of ['public.users', 'public.bookings', 'public.activity', 'activity_user_id_users_id_fk']) {
      expect(text).toContain(table)
    }
    expect(text).toContain('test "leaks a booking"')
    expect(text).toMatch(/test\/integration\/audit\.test\.ts:\d+:\d+/)
    expect(text).not.toContain('\u001b[')
    expect(formatAuditReport(report, { color: true })).toContain('\u001b[')

    const json = auditToJson(report)
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    expect(json.rows[0]!.provenance!.time).toBe(run.startedAt.toISOString())

    const error = leakError(report)
    expect(error).toMatchObject({ code: 'LEAKS_FOUND', name: 'LeakError' })
    expect(error.message).toContain('"leaks a booking" (test/integration/audit.test.ts:')
    expect(error.message).toContain('leakless sweep')

    await deleteByPrefix(db, leaky.prefix)
    const after = await audit({ db, prefix: leaky.prefix, ledger: leaky.ledger.entries })
    expect(after).toMatchObject({ clean: true, rows: [], tables: {} })
    expect(formatAuditReport(after)).toBe(`leakless audit ${leaky.prefix}: clean`)
    const [still] = await db.execute<{ id: string }>('select id from users where id = $1', [kept.id])
    expect(still?.id).toBe(kept.id)
  })

  it('audits a whole run by its run tag: every scope', async () => {
    const first = run.scope('first of the run')
    const second = run.scope('second of the run')
    const a = await first.bind(factories).users.create()
    const b = await second.bind(factories).sessions.create()
    const ledger = [...first.ledger.entries, ...second.ledger.entries]
    const report = await audit({ db, runTag: run.runTag, ledger })
    expect(report.prefix).toBe(run.runPrefix)
    const find = (id: string) => report.rows.find((r) => r.key.id === id)
    expect(find(a.id)).toMatchObject({ test: 'first of the run' })
    expect(find(b.id)).toMatchObject({ test: 'second of the run', table: 'public.sessions' })
    expect(find(b.userId)).toMatchObject({ test: 'second of the run', table: 'public.users' })
    await deleteByPrefix(db, first.prefix)
    await deleteByPrefix(db, second.prefix)
  })

  it('finds ledger rows without a tag, and with deep: true values hidden in any text column', async () => {
    const scope = run.scope('hides a value')
    const hidden = await insertForeignUser(`${scope.prefix}hidden`)
    expect((await audit({ db, prefix: scope.prefix, discover: false })).clean).toBe(true)

    const deep = await audit({ db, prefix: scope.prefix, deep: true })
    expect(deep.rows).toEqual([
      expect.objectContaining({
        table: 'public.users',
        key: { id: hidden },
        column: 'name',
        tag: `${scope.prefix}hidden`,
      }),
    ])

    const untagged = await insertForeignUser('made by hand')
    const entry: LedgerEntry = {
      table: 'public.users',
      key: { id: untagged },
      tag: null,
      tagColumns: [],
      scope: scope.number,
      test: 'hides a value',
      caller: '/somewhere/else.test.ts:1:2',
      factory: 'users',
      at: new Date(Date.now() - 90_000),
    }
    const report = await audit({ db, prefix: scope.prefix, ledger: [entry], discover: false })
    expect(report.rows).toEqual([
      expect.objectContaining({ key: { id: untagged }, column: null, tag: null, via: null, test: 'hides a value' }),
    ])
    expect(report.rows[0]!.ageMs).toBeGreaterThanOrEqual(90_000)
    expect(formatAuditReport(report)).toMatch(/ledger row, no tag .* 1m$/m)
  })

  it('refuses a missing or malformed prefix or run tag', async () => {
    await expect(audit({ db })).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
    await expect(audit({ db, prefix: 'a-' })).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
    await expect(audit({ db, runTag: 'not-a-tag' })).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
    await expect(audit({ db, runTag: `${run.runTag}-` })).rejects.toMatchObject({ code: 'PREFIX_INVALID' })
    await expect(audit({ db, prefix: run.prefix, tagColumns: { 'public.nope': ['id'] } })).rejects.toMatchObject({
      code: 'UNKNOWN_TABLE',
    })
  })
})
