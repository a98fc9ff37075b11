import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { cleanupPrefix, cleanupRun, createRun, createRunTag, sweep } from '../../src/index.js'
import { connect, type Database } from '../../src/db/index.js'
import { isTestDatabaseName } from '../../src/db/guard.js'
import { databaseUrl } from './drivers.js'

/** A database with no table at all, and how to get rid of it. */
interface EmptyDatabase {
  db: Database
  drop(): Promise<void>
}

const emptyDatabases: Array<{ name: string; open(): Promise<EmptyDatabase> }> = [
  {
    // A database of its own on the suite's server, created here and dropped after.
    name: 'postgres',
    async open() {
      const admin = await connect({ max: 1 })
      const suffix = `_empty_${randomBytes(4).toString('hex')}`
      const name = isTestDatabaseName(`${admin.target.database}${suffix}`)
        ? `${admin.target.database}${suffix}`
        : `test${suffix}`
      await admin.execute(`create database "${name}"`)
      const url = new URL(databaseUrl())
      url.pathname = `/${name}`
      const db = await connect({ url: url.href, max: 4 })
      return {
        db,
        async drop() {
          await db.close()
          await admin.execute(`drop database if exists "${name}" with (force)`)
          await admin.close()
        },
      }
    },
  },
  {
    // In-process, without the reference migrations.
    name: 'pglite',
    async open() {
      const client = new PGlite()
      const db = await connect({ db: drizzle(client) })
      return { db, drop: () => client.close() }
    },
  },
]

describe.each(emptyDatabases)('a cleanup with nothing to plan, on $name', (target) => {
  let empty: EmptyDatabase
  let db: Database

  beforeAll(async () => {
    empty = await target.open()
    db = empty.db
  })

  afterAll(async () => {
    await empty?.drop()
  })

  const tables = async () =>
    db.execute<{ name: string }>(
      `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'leakless') order by 1`,
    )

  it('an empty public schema: every cleanup is a no-op reporting 0', async () => {
    expect(await tables()).toEqual([])
    // Before any run registered: no registry either, so not even its journal to clear.
    expect(await cleanupPrefix(db, `${createRunTag()}-`)).toMatchObject({ deleted: {}, total: 0, statements: 0 })
    const run = await createRun({ db })
    try {
      const scope = run.scope('nothing here')
      scope.id() // handed a value to the test: discovery runs too
      const reports = [
        await scope.cleanup(),
        await run.cleanup(),
        await cleanupPrefix(db, scope.prefix),
        await cleanupPrefix(db, scope.prefix, { dryRun: true }),
        await cleanupRun(db, run.runTag),
      ]
      for (const report of reports) expect(report).toMatchObject({ deleted: {}, total: 0 })
      // The run is alive (its lease is held): nothing to sweep, and no error.
      expect(await sweep({ db, olderThanMs: 0, dryRun: true })).toMatchObject({ swept: [] })
    } finally {
      await run.close()
    }
  })

  it('run.close() on a database with no tables: clean, nothing deleted', async () => {
    expect(await tables()).toEqual([])
    const run = await createRun({ db })
    const closed = await run.close()
    expect(closed.cleanup).toMatchObject({ deleted: {}, total: 0 })
    expect(closed.clean).toBe(true)
    expect(closed.audit.rows).toEqual([])
  })

  it('a first test that fails before creating a row, on a schema without text primary keys', async () => {
    const schema = `serials_${randomBytes(4).toString('hex')}`
    await db.execute(`create schema ${schema}`)
    try {
      await db.execute(`create table ${schema}.counters (id serial primary key, n integer not null)`)
      await db.execute(
        `create table ${schema}.ticks (id bigserial primary key, counter_id integer not null references ${schema}.counters, at timestamptz not null default now())`,
      )
      await db.execute(`create table ${schema}.notes (id integer generated always as identity primary key, body text)`)
      await db.execute(`insert into ${schema}.counters (n) values (1)`)
      await db.execute(`insert into ${schema}.ticks (counter_id) values (1)`)
      await db.execute(`insert into ${schema}.notes (body) values ('someone else''s')`)
      const run = await createRun({ db, cleanup: { schemas: ['public', schema] } })
      try {
        // The test asked for an id, then failed before any insert; the adapter cleans its scope up.
        const scope = run.scope('fails first')
        scope.id()
        expect(await scope.cleanup()).toMatchObject({ deleted: {}, total: 0 })
        expect(await cleanupPrefix(db, scope.prefix, { schemas: [schema] })).toMatchObject({ deleted: {}, total: 0 })
      } finally {
        const closed = await run.close()
        expect(closed.cleanup).toMatchObject({ deleted: {}, total: 0 })
        expect(closed.clean).toBe(true)
      }
      const [row] = await db.execute<{ n: string }>(
        `select (select count(*) from ${schema}.counters) + (select count(*) from ${schema}.ticks) + (select count(*) from ${schema}.notes) as n`,
      )
      expect(Number(row!.n)).toBe(3)
    } finally {
      await db.execute(`drop schema ${schema} cascade`)
    }
  })
})
