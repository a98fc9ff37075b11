import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { bigserial, pgSchema, text } from 'drizzle-orm/pg-core'
import { audit, cleanupPrefix, cleanupRun, createRun, defineFactory, type RunContext } from '../../src/index.js'
import type { Database } from '../../src/db/index.js'
import { drivers } from './drivers.js'

const q = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * Tables whose joined `schema.table` names collide or need quoting: `x."y.z"` and `"x.y".z` (both
 * `x.y.z` once joined), and a schema, tables and columns with upper case, spaces and quotes.
 */
function oddSchema(tag: string) {
  const x = `k${tag}`
  const xy = `k${tag}.y`
  const odd = `K${tag} Odd "S"`
  const left = pgSchema(x).table('y.z', { id: bigserial('id', { mode: 'number' }).primaryKey(), label: text('label') })
  const right = pgSchema(xy).table('z', { id: bigserial('id', { mode: 'number' }).primaryKey(), label: text('label') })
  const weird = pgSchema(odd).table(`My "Table"`, {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    label: text(`Tag 'Col'`),
  })
  const ddl = [
    `create schema ${q(x)}`,
    `create schema ${q(xy)}`,
    `create schema ${q(odd)}`,
    `create table ${q(x)}."y.z" (id bigserial primary key, label text)`,
    `create table ${q(x)}."y.z kid" (id bigserial primary key, parent_id bigint not null references ${q(x)}."y.z")`,
    `create table ${q(xy)}.z (id bigserial primary key, label text)`,
    `create table ${q(xy)}."z kid" (id bigserial primary key, parent_id bigint not null references ${q(xy)}.z)`,
    `create table ${q(odd)}."My ""Table""" (id bigserial primary key, "Tag 'Col'" text)`,
    `create table ${q(odd)}."Kid's ""Rows""" ("Id" bigserial primary key, "Parent.Id" bigint not null references ${q(odd)}."My ""Table""")`,
    `create table ${q(odd)}."Note ""N""" (id bigserial primary key, "My Ref" bigint references ${q(odd)}."My ""Table""")`,
  ]
  const tables = {
    left: `${q(x)}."y.z"`,
    leftKid: `${q(x)}."y.z kid"`,
    right: `${q(xy)}.z`,
    rightKid: `${q(xy)}."z kid"`,
    weird: `${q(odd)}."My ""Table"""`,
    weirdKid: `${q(odd)}."Kid's ""Rows"""`,
    note: `${q(odd)}."Note ""N"""`,
  }
  const factories = {
    left: defineFactory(left, (f) => ({ label: f.id('left') })),
    right: defineFactory(right, (f) => ({ label: f.id('right') })),
    weird: defineFactory(weird, (f) => ({ label: f.id('weird') })),
    // Rows no tag marks: found again by the keys the registry journals.
    plainLeft: defineFactory(left, () => ({ label: 'plain' })),
    plainRight: defineFactory(right, () => ({ label: 'plain' })),
  }
  // The schemas as table keys write them: bare when a plain lower-case name, else quoted.
  return { schemas: [x, xy, odd], keys: [x, q(xy), q(odd)], ddl, tables, factories }
}

describe.each(drivers)('table keys on $name', (driver) => {
  let db: Database
  let run: RunContext
  const s = oddSchema(randomBytes(4).toString('hex'))

  /** Rows per table: all of them, and those whose parent (or own) label starts with `prefix`. */
  async function counts(prefix: string): Promise<Record<string, [number, number]>> {
    const t = s.tables
    const [row] = await db.execute<Record<string, string>>(
      `select
        (select count(*) from ${t.left}) as left_all, (select count(*) from ${t.left} where starts_with(label, $1)) as left_own,
        (select count(*) from ${t.leftKid}) as left_kid_all,
        (select count(*) from ${t.leftKid} k join ${t.left} p on p.id = k.parent_id where starts_with(p.label, $1)) as left_kid_own,
        (select count(*) from ${t.right}) as right_all, (select count(*) from ${t.right} where starts_with(label, $1)) as right_own,
        (select count(*) from ${t.rightKid}) as right_kid_all,
        (select count(*) from ${t.rightKid} k join ${t.right} p on p.id = k.parent_id where starts_with(p.label, $1)) as right_kid_own,
        (select count(*) from ${t.weird}) as weird_all, (select count(*) from ${t.weird} where starts_with("Tag 'Col'", $1)) as weird_own,
        (select count(*) from ${t.weirdKid}) as weird_kid_all,
        (select count(*) from ${t.weirdKid} k join ${t.weird} p on p.id = k."Parent.Id" where starts_with(p."Tag 'Col'", $1)) as weird_kid_own`,
      [prefix],
    )
    const out: Record<string, [number, number]> = {}
    for (const name of ['left', 'left_kid', 'right', 'right_kid', 'weird', 'weird_kid']) {
      out[name] = [Number(row![`${name}_all`]), Number(row![`${name}_own`])]
    }
    return out
  }

  /** Rows nobody of this run owns, in every table: a foreign tag, and a child of it. */
  async function insertForeign(): Promise<void> {
    const t = s.tables
    await db.execute(
      `with l as (insert into ${t.left} (label) values ('foreign-left') returning id),
        lk as (insert into ${t.leftKid} (parent_id) select id from l),
        r as (insert into ${t.right} (label) values ('foreign-right') returning id),
        rk as (insert into ${t.rightKid} (parent_id) select id from r),
        w as (insert into ${t.weird} ("Tag 'Col'") values ('foreign-weird') returning id)
      insert into ${t.weirdKid} ("Parent.Id") select id from w`,
    )
  }

  beforeAll(async () => {
    db = await driver.open()
    for (const statement of s.ddl) await db.execute(statement)
    await insertForeign()
    run = await createRun({ db, factories: s.factories })
  })

  afterAll(async () => {
    await run?.close()
    for (const schema of s.schemas) await db?.execute(`drop schema if exists ${q(schema)} cascade`)
    await db?.close()
  })

  it('deletes the owned rows of x."y.z" and "x.y".z, and of tables with odd names, and nothing else', async () => {
    const scope = run.scope('dotted tables')
    const f = scope.bind(s.factories)
    const t = s.tables
    const left = await f.left.createList(2)
    const right = await f.right.createList(3)
    const weird = await f.weird.create()
    // The app adds children of both: no factory, no tag of their own.
    await db.execute(`insert into ${t.leftKid} (parent_id) values ($1)`, [left[0]!.id])
    await db.execute(`insert into ${t.rightKid} (parent_id) values ($1), ($1)`, [right[0]!.id])
    await db.execute(`insert into ${t.weirdKid} ("Parent.Id") values ($1)`, [weird.id])
    expect(await counts(scope.prefix)).toEqual({
      left: [3, 2],
      left_kid: [2, 1],
      right: [4, 3],
      right_kid: [3, 2],
      weird: [2, 1],
      weird_kid: [2, 1],
    })

    const report = await scope.cleanup()

    // The foreign rows and their children are all still there.
    expect(await counts(scope.prefix)).toEqual({
      left: [1, 0],
      left_kid: [1, 0],
      right: [1, 0],
      right_kid: [1, 0],
      weird: [1, 0],
      weird_kid: [1, 0],
    })
    const [x, xy, odd] = s.keys
    expect(report.deleted).toEqual({
      [`${x}."y.z"`]: 2,
      [`${x}."y.z kid"`]: 1,
      [`${xy}.z`]: 3,
      [`${xy}."z kid"`]: 2,
      [`${odd}."My ""Table"""`]: 1,
      [`${odd}."Kid's ""Rows"""`]: 1,
    })
    expect((await audit({ db, prefix: scope.prefix })).clean).toBe(true)
  })

  it('run.close() finds, deletes and audits rows of both tables left without a scope cleanup', async () => {
    const other = await createRun({ db, runTag: run.runTag, factories: s.factories })
    const f = other.scope('left behind').bind(s.factories)
    await f.left.create()
    await f.right.createList(2)
    await f.weird.create()
    const before = await audit({ db, prefix: other.prefix })
    const [x, xy, odd] = s.keys
    expect(before.tables).toEqual({ [`${x}."y.z"`]: 1, [`${xy}.z`]: 2, [`${odd}."My ""Table"""`]: 1 })
    const closed = await other.close()
    expect(closed.cleanup.total).toBe(4)
    expect(closed.audit.clean).toBe(true)
    expect(await counts(other.prefix)).toMatchObject({ left: [1, 0], right: [1, 0], weird: [1, 0] })
  })

  it('journals untagged rows of x."y.z" and "x.y".z apart, and a cleanup from the registry alone finds both', async () => {
    const other = await createRun({ db, runTag: run.runTag, factories: s.factories })
    const f = other.scope('untagged').bind(s.factories)
    const left = await f.plainLeft.createList(2)
    const right = await f.plainRight.create()
    const [x, xy] = s.keys
    // Another machine: nothing but the registry tells it which rows the run made.
    const report = await cleanupRun(db, run.runTag, { schemas: s.schemas })
    expect(report.deleted).toEqual({ [`${x}."y.z"`]: 2, [`${xy}.z`]: 1 })
    const [row] = await db.execute<{ n: string }>(
      `select (select count(*) from ${s.tables.left} where id = any($1::bigint[])) + (select count(*) from ${s.tables.right} where id = $2) as n`,
      [left.map((r) => r.id), right.id],
    )
    expect(Number(row!.n)).toBe(0)
    expect(await counts(other.prefix)).toMatchObject({ left: [1, 0], right: [1, 0] })
    expect((await other.close()).clean).toBe(true)
  })

  it('takes tag columns and nullable-dependent rules keyed by hand: quoted, or unquoted where that is unambiguous', async () => {
    const scope = run.scope('hand-written keys')
    const [x, xy, odd] = s.schemas
    const t = s.tables
    // Rows the app wrote from tagged input: no factory, so only the declared tag columns find them.
    await db.execute(`insert into ${t.left} (label) values ($1)`, [scope.id()])
    await db.execute(`insert into ${t.right} (label) values ($1), ($2)`, [scope.id(), scope.id()])
    const [weird] = await db.execute<{ id: string }>(`insert into ${t.weird} ("Tag 'Col'") values ($1) returning id`, [
      scope.id(),
    ])
    // An untagged row of the app that references it through a nullable foreign key.
    await db.execute(`insert into ${t.note} ("My Ref") values ($1)`, [weird!.id])
    const tagColumns = {
      [`${x}."y.z"`]: ['label'],
      [`"${xy}".z`]: ['label'],
      [`${odd}.My "Table"`]: ["Tag 'Col'"],
    }
    await expect(cleanupPrefix(db, scope.prefix, { schemas: s.schemas, tagColumns })).rejects.toMatchObject({
      code: 'CLEANUP_NULLABLE_DEPENDENT',
      details: { table: `${s.keys[2]}."Note ""N"""` },
    })
    const report = await cleanupPrefix(db, scope.prefix, {
      schemas: s.schemas,
      tagColumns,
      nullableDependents: { [`${odd}.Note "N"`]: 'detach' },
    })
    expect(report.total).toBe(4)
    expect(await counts(scope.prefix)).toMatchObject({ left: [1, 0], right: [1, 0], weird: [1, 0] })
    const [note] = await db.execute<{ ref: string | null }>(`select "My Ref" as ref from ${t.note}`)
    expect(note).toEqual({ ref: null })
    // Unquoted, x.y.z could name either table: refused, nothing guessed.
    await expect(
      cleanupPrefix(db, scope.prefix, { schemas: s.schemas, tagColumns: { [`${x}.y.z`]: ['label'] } }),
    ).rejects.toMatchObject({ code: 'TABLE_KEY_INVALID' })
  })
})
