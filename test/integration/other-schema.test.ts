import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { bigserial, integer, pgSchema, serial, text } from 'drizzle-orm/pg-core'
import { audit, createRun, defineFactory, type RunContext } from '../../src/index.js'
import type { Database } from '../../src/db/index.js'
import { drivers } from './drivers.js'

/** Tables in a schema of their own, which the cleanup option `schemas` (default `['public']`) does not name. */
function eggsSchema(schema: string) {
  const s = pgSchema(schema)
  const nests = s.table('nests', { id: text('id').primaryKey(), name: text('name').notNull() })
  const eggs = s.table('eggs', {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    nestId: text('nest_id')
      .notNull()
      .references(() => nests.id),
    label: text('label'),
  })
  const ddl = [
    `create schema ${schema}`,
    `create table ${schema}.nests (id text primary key, name text not null)`,
    `create table ${schema}.eggs (id bigserial primary key, nest_id text not null references ${schema}.nests, label text)`,
  ]
  const nestFactory = defineFactory(nests, (f) => ({ id: f.id('nest'), name: f.faker.animal.bird() }))
  const factories = {
    nests: nestFactory,
    // No tag in the egg itself: owned through its nest, and journaled by key in the registry.
    eggs: defineFactory(eggs, (f) => ({ nestId: f.ref(nestFactory), label: 'brown' })),
  }
  return { ddl, factories }
}

describe.each(drivers)('rows in a schema the cleanup option does not name, on $name', (driver) => {
  let db: Database
  let run: RunContext
  const schema = `eggs_${randomBytes(4).toString('hex')}`
  const app = eggsSchema(schema)

  /** Every row of both tables, and the foreign ones among them. */
  async function counts(): Promise<{ nests: number; eggs: number; foreignNests: number; foreignEggs: number }> {
    const [row] = await db.execute<Record<string, string>>(
      `select (select count(*) from ${schema}.nests) as nests, (select count(*) from ${schema}.eggs) as eggs,
        (select count(*) from ${schema}.nests where id like 'foreign-%') as foreign_nests,
        (select count(*) from ${schema}.eggs where nest_id like 'foreign-%') as foreign_eggs`,
    )
    return {
      nests: Number(row!.nests),
      eggs: Number(row!.eggs),
      foreignNests: Number(row!.foreign_nests),
      foreignEggs: Number(row!.foreign_eggs),
    }
  }

  beforeAll(async () => {
    db = await driver.open()
    for (const statement of app.ddl) await db.execute(statement)
    await db.execute(`insert into ${schema}.nests (id, name) values ('foreign-1', 'kept')`)
    await db.execute(
      `insert into ${schema}.eggs (nest_id, label) values ('foreign-1', 'brown'), ('foreign-1', 'white')`,
    )
    // No `schemas` option: the default, ['public'].
    run = await createRun({ db, factories: app.factories })
  })

  afterAll(async () => {
    await db?.execute(`drop schema if exists ${schema} cascade`)
    await db?.close()
  })

  it('scope.cleanup() reports and deletes them, and nothing else', async () => {
    const scope = run.scope('lays eggs')
    const f = scope.bind(app.factories)
    const nest = await f.nests.create()
    await f.eggs.createList(3, { nestId: nest.id })
    expect(await counts()).toEqual({ nests: 2, eggs: 5, foreignNests: 1, foreignEggs: 2 })

    const report = await scope.cleanup()

    expect(report.deleted).toEqual({ [`${schema}.nests`]: 1, [`${schema}.eggs`]: 3 })
    expect(await counts()).toEqual({ nests: 1, eggs: 2, foreignNests: 1, foreignEggs: 2 })
    expect((await audit({ db, prefix: scope.prefix })).clean).toBe(true)
  })

  it('run.close() deletes what no scope cleaned, and its audit is clean', async () => {
    const f = run.scope('left behind').bind(app.factories)
    await f.eggs.createList(2)

    const closed = await run.close()

    expect(closed.cleanup.deleted).toEqual({ [`${schema}.nests`]: 2, [`${schema}.eggs`]: 2 })
    expect(closed.audit.clean).toBe(true)
    expect(closed.clean).toBe(true)
    expect(await counts()).toEqual({ nests: 1, eggs: 2, foreignNests: 1, foreignEggs: 2 })
  })
})

describe.each(drivers)('untagged rows in a table alone in its own schema, on $name', (driver) => {
  // No tag column, no foreign key, nothing of the run in its schema but these rows: they are found by key
  // alone (ledger or registry journal), in a schema neither `schemas` nor any tagged table names.
  const schema = `counters_${randomBytes(4).toString('hex')}`
  const counters = pgSchema(schema).table('counters', { id: serial('id').primaryKey(), n: integer('n').notNull() })
  const factories = { counters: defineFactory(counters, () => ({ n: 1 })) }
  let db: Database

  beforeAll(async () => {
    db = await driver.open()
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${schema}.counters (id serial primary key, n integer not null)`)
    await db.execute(`insert into ${schema}.counters (n) values (0)`) // not ours
  })

  afterAll(async () => {
    await db?.execute(`drop schema if exists ${schema} cascade`)
    await db?.close()
  })

  it('scope.cleanup() and run.close() delete them by key, and nothing else', async () => {
    const run = await createRun({ db, factories })
    const scope = run.scope('counts')
    await scope.bind(factories).counters.createList(2)
    expect(await scope.cleanup()).toMatchObject({ deleted: { [`${schema}.counters`]: 2 } })

    await run.scope('counts at close').bind(factories).counters.create()
    const closed = await run.close()
    expect(closed.cleanup.deleted).toEqual({ [`${schema}.counters`]: 1 })
    expect(closed.clean).toBe(true)
    expect(await db.execute(`select n from ${schema}.counters`)).toEqual([{ n: 0 }])
  })
})
