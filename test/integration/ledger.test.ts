/**
 * A long-lived worker's ledger: each cleanup releases the rows it deleted, so what the run holds after
 * 2 000 tests is what it held after 10, and a late write is still named after its test at close.
 */
import { randomBytes } from 'node:crypto'
import { bigserial, integer, pgSchema, text } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit, connect, createRun, defineFactory, type Database, type RunContext } from '../../src/index.js'
import type { TestScope } from '../../src/run/index.js'

const CYCLES = 2000
const schema = `ledger_${randomBytes(4).toString('hex')}`
const tables = pgSchema(schema)
const items = tables.table('item', { id: text('id').primaryKey(), label: text('label').notNull() })
const counters = tables.table('counter', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  n: integer('n').notNull(),
})
const factories = {
  items: defineFactory(items, (f) => ({ id: f.id(), label: 'x' })),
  counters: defineFactory(counters, (f) => ({ n: f.seq })),
}

describe('the run ledger of a long-lived worker', () => {
  let db: Database
  const runs: RunContext[] = []
  const newRun = async () => {
    const run = await createRun({ db, factories, cleanup: { schemas: ['public', schema] } })
    runs.push(run)
    return run
  }
  const itemIds = async (prefix: string) =>
    (await db.execute<{ id: string }>(`select id from ${schema}.item where starts_with(id, $1)`, [prefix])).map(
      (r) => r.id,
    )

  beforeAll(async () => {
    db = await connect()
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${schema}.item (id text primary key, label text not null)`)
    await db.execute(`create table ${schema}.counter (id bigserial primary key, n int not null)`)
  })

  afterAll(async () => {
    for (const run of runs) await run.close().catch(() => {})
    await db?.execute(`drop schema if exists ${schema} cascade`)
    await db?.close()
  })

  it(`releases what each cleanup deleted: after ${CYCLES} tests the run holds what it held after 10`, async () => {
    const run = await newRun()
    // A scope opened early whose cleanup never runs: it stays in the ledger until the worker's cleanup.
    const neverCleaned = run.scope('never cleaned')
    const kept = await neverCleaned.bind(factories).items.create()
    let early: TestScope | undefined
    let afterTen = -1
    for (let i = 0; i < CYCLES; i++) {
      const scope = run.scope(`cycle ${i}`)
      if (i === 5) early = scope
      const f = scope.bind(factories)
      await f.items.create()
      await f.counters.create()
      const sizes = (deleted: number | string) =>
        `deleted ${deleted}, scope ${scope.ledger.size}, run ${run.ledger.size}`
      const before = sizes('-')
      const after = sizes((await scope.cleanup()).total)
      if (before !== 'deleted -, scope 2, run 3' || after !== 'deleted 2, scope 0, run 1') {
        expect.fail(`cycle ${i}: before cleanup ${before}; after ${after}`)
      }
      if (i === 9) afterTen = run.ledger.entries.length
    }
    expect(afterTen).toBe(1)
    expect(run.ledger.entries).toEqual([expect.objectContaining({ key: { id: kept.id }, test: 'never cleaned' })])
    // What inserts taught outlives the rows: the tables and tag columns, and how many rows each got.
    expect(run.ledger.tagColumns()).toEqual({ [`${schema}.item`]: ['id'] })
    expect(run.ledger.recordedPerTable()).toEqual({ [`${schema}.item`]: CYCLES + 1, [`${schema}.counter`]: CYCLES })
    // A test's report still lists the rows its cleanup deleted.
    expect(Object.values(early!.created).map((entries) => entries.length)).toEqual([1, 1])
    expect(early!.ledger.entries).toEqual([])

    // The app writes late with the id of a test cleaned up long ago; close names that test.
    const lateId = early!.id('late')
    await db.execute(`insert into ${schema}.item (id, label) values ($1, 'late')`, [lateId])
    const closed = await run.close()
    expect(closed.leftBehind.rows).toEqual([
      expect.objectContaining({ table: `${schema}.item`, key: { id: lateId }, test: 'cycle 5' }),
    ])
    expect(closed.clean).toBe(false)
    // The scope never cleaned is the worker's to delete, not a late write.
    expect(closed.cleanup.deleted).toEqual({ [`${schema}.item`]: 2 })
    expect(closed.audit.clean).toBe(true)
    expect(run.ledger.size).toBe(0)
    expect(neverCleaned.ledger.size).toBe(0) // released through the run's ledger
  })

  it('keeps the entry of a row tagged with another prefix: its row outlives the cleanup of the scope that made it', async () => {
    const run = await newRun()
    const owner = run.scope('owns the id')
    const maker = run.scope('makes the row')
    const row = await maker.bind(factories).items.create({ id: owner.id('borrowed') })
    await maker.bind(factories).items.create()
    expect((await maker.cleanup()).total).toBe(1)
    expect(await itemIds(owner.prefix)).toEqual([row.id])
    expect(run.ledger.entries.map((e) => e.key)).toEqual([{ id: row.id }])
    // So the audit still names the test and the line that made it.
    const report = await audit({ db, prefix: run.prefix, ledger: run.ledger.entries, scopeNames: run.scopeNames })
    expect(report.rows).toEqual([
      expect.objectContaining({
        key: { id: row.id },
        test: 'makes the row',
        caller: expect.stringMatching(/ledger\.test\.ts:\d+:\d+$/),
      }),
    ])
    expect((await owner.cleanup()).total).toBe(1)
    expect((await run.close()).clean).toBe(true)
  })

  it('a key the worker cleanup deleted is not sent again by the cleanup of its scope', async () => {
    const run = await newRun()
    const scope = run.scope('cleaned by the worker')
    const counter = await scope.bind(factories).counters.create()
    expect((await run.cleanup()).deleted).toEqual({ [`${schema}.counter`]: 1 })
    expect(scope.ledger.entries).toEqual([])
    expect(scope.ledger.ownedBy(scope.prefix)).toEqual([])
    // A row that reuses the key (someone else's) is not the scope's to delete.
    await db.execute(`insert into ${schema}.counter (id, n) values ($1, 0)`, [counter.id])
    expect((await scope.cleanup()).total).toBe(0)
    expect(await db.execute(`select id from ${schema}.counter where id = $1`, [counter.id])).toHaveLength(1)
    await db.execute(`delete from ${schema}.counter where id = $1`, [counter.id])
    expect((await run.close()).clean).toBe(true)
  })
})
