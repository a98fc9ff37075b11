import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/index.js'
import { audit } from '../../src/audit/audit.js'
import { cleanupPrefix } from '../../src/cleanup/execute.js'
import { cachedSchema, introspectSchema, invalidateSchema } from '../../src/db/introspect.js'
import { createRunTag } from '../../src/ids/index.js'
import type { ColumnSchema, ForeignKey, TableSchema } from '../../src/db/schema-graph.js'
import { drivers } from './drivers.js'

function col(name: string, type: string, nullable: boolean, textual = false, prefixIndexed = false): ColumnSchema {
  return { name, type, nullable, textual, prefixIndexed }
}

function table(schema: string, name: string, primaryKey: string[], columns: ColumnSchema[]): TableSchema {
  return { name: `${schema}.${name}`, schema, table: name, primaryKey, columns, bytes: expect.any(Number) }
}

function fk(
  name: string,
  from: [table: string, columns: string[]],
  to: [table: string, columns: string[]],
  options: Partial<Pick<ForeignKey, 'nullable' | 'onDelete' | 'deferrable' | 'initiallyDeferred'>> = {},
): ForeignKey {
  return {
    name,
    table: from[0],
    columns: from[1],
    refTable: to[0],
    refColumns: to[1],
    nullable: false,
    onDelete: 'no action',
    deferrable: false,
    initiallyDeferred: false,
    ...options,
  }
}

describe.each(drivers)('introspectSchema on $name', (driver) => {
  // Private schemas for this run only; afterAll drops exactly these two.
  const suffix = randomBytes(5).toString('hex')
  const s = `introspect_${suffix}`
  const x = `introspect_${suffix}_ext`
  let db: Database
  let created = false
  let citext: string | null = null

  beforeAll(async () => {
    db = await driver.open()
    const [ext] = await db.execute<{ schema: string }>(
      `select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'citext'`,
    )
    // Only an existing citext is used: creating the extension here could later cascade into others' tables.
    citext = ext ? `"${ext.schema}".citext` : null
    await db.execute(`create schema "${s}"`)
    created = true
    const statements = [
      `create schema "${x}"`,
      `create domain "${s}".label as varchar(20)`,
      `create domain "${s}".short_label as "${s}".label`,
      `create table "${s}".root (
        id text primary key,
        title varchar(80) not null,
        code char(3),
        tag "${s}".short_label,
        created_at timestamptz not null default now()
      )`,
      // Indexes that serve LIKE 'prefix%': pattern ops, or the C collation; a partial one does not count.
      `create index on "${s}".root (title varchar_pattern_ops)`,
      `create index on "${s}".root (code collate "C")`,
      `create index on "${s}".root (tag) where tag is not null`,
      `create table "${s}".child_required (
        id bigint generated always as identity primary key,
        root_id text not null constraint child_required_root_fk references "${s}".root
      )`,
      `create table "${s}".child_cascade (
        id text primary key,
        root_id text not null constraint child_cascade_root_fk references "${s}".root on delete cascade
      )`,
      `create table "${s}".child_optional (
        id text primary key,
        root_id text constraint child_optional_root_fk references "${s}".root on delete set null
      )`,
      `create table "${s}".node (
        id text primary key,
        parent_id text constraint node_parent_fk references "${s}".node
      )`,
      `create table "${s}".cycle_a (id text primary key, b_id text not null)`,
      `create table "${s}".cycle_b (
        id text primary key,
        a_id text not null constraint cycle_b_a_fk references "${s}".cycle_a deferrable initially deferred
      )`,
      `alter table "${s}".cycle_a add constraint cycle_a_b_fk foreign key (b_id) references "${s}".cycle_b
        on delete restrict deferrable`,
      `create table "${s}".pair (x integer, y integer, label text, primary key (y, x))`,
      `create table "${s}".pair_ref (
        a integer not null,
        b integer,
        constraint pair_ref_pair_fk foreign key (b, a) references "${s}".pair (y, x) on delete set default
      )`,
      `create table "${s}".no_pk (payload text, amount numeric(10, 2))`,
      `alter table "${s}".no_pk add column gone integer`,
      `alter table "${s}".no_pk drop column gone`,
      `create table "${s}".event (
        id text,
        kind text,
        root_id text not null constraint event_root_fk references "${s}".root on delete cascade,
        primary key (id, kind)
      ) partition by list (kind)`,
      `create table "${s}".event_default partition of "${s}".event default`,
      `create table "${s}".event_note (
        id text primary key,
        event_id text not null,
        event_kind text not null,
        constraint event_note_event_fk foreign key (event_id, event_kind) references "${s}".event (id, kind)
          on delete cascade
      )`,
      `create table "${x}".outside_parent (id text primary key)`,
      `create table "${x}".outside_child (
        id text primary key,
        root_id text not null constraint outside_child_root_fk references "${s}".root
      )`,
      `create table "${x}".unrelated (id text primary key)`,
      `create table "${s}".uses_outside (
        id text primary key,
        outside_id text constraint uses_outside_parent_fk references "${x}".outside_parent
      )`,
    ]
    if (citext) statements.push(`create table "${s}".with_citext (email ${citext} primary key)`)
    for (const statement of statements) await db.execute(statement)
  })

  afterAll(async () => {
    if (created) {
      await db.execute(`drop schema if exists "${x}" cascade`)
      await db.execute(`drop schema if exists "${s}" cascade`)
    }
    await db?.close()
  })

  it('reads tables, key order, columns and every kind of foreign key exactly', async () => {
    const graph = await introspectSchema(db, { schemas: [s] })
    const expectedTables = [
      table(s, 'child_cascade', ['id'], [col('id', 'text', false, true), col('root_id', 'text', false, true)]),
      table(s, 'child_optional', ['id'], [col('id', 'text', false, true), col('root_id', 'text', true, true)]),
      table(s, 'child_required', ['id'], [col('id', 'bigint', false), col('root_id', 'text', false, true)]),
      table(s, 'cycle_a', ['id'], [col('id', 'text', false, true), col('b_id', 'text', false, true)]),
      table(s, 'cycle_b', ['id'], [col('id', 'text', false, true), col('a_id', 'text', false, true)]),
      table(
        s,
        'event',
        ['id', 'kind'],
        [col('id', 'text', false, true), col('kind', 'text', false, true), col('root_id', 'text', false, true)],
      ),
      table(
        s,
        'event_note',
        ['id'],
        [col('id', 'text', false, true), col('event_id', 'text', false, true), col('event_kind', 'text', false, true)],
      ),
      table(s, 'no_pk', [], [col('payload', 'text', true, true), col('amount', 'numeric(10,2)', true)]),
      table(s, 'node', ['id'], [col('id', 'text', false, true), col('parent_id', 'text', true, true)]),
      table(
        s,
        'pair',
        ['y', 'x'],
        [col('x', 'integer', false), col('y', 'integer', false), col('label', 'text', true, true)],
      ),
      table(s, 'pair_ref', [], [col('a', 'integer', false), col('b', 'integer', true)]),
      table(
        s,
        'root',
        ['id'],
        [
          col('id', 'text', false, true),
          col('title', 'character varying(80)', false, true, true),
          col('code', 'character(3)', true, true, true),
          col('tag', `${s}.short_label`, true, true),
          col('created_at', 'timestamp with time zone', false),
        ],
      ),
      table(s, 'uses_outside', ['id'], [col('id', 'text', false, true), col('outside_id', 'text', true, true)]),
      ...(citext
        ? [table(s, 'with_citext', ['email'], [col('email', expect.stringMatching(/citext$/), false, true)])]
        : []),
      table(x, 'outside_child', ['id'], [col('id', 'text', false, true), col('root_id', 'text', false, true)]),
      table(x, 'outside_parent', ['id'], [col('id', 'text', false, true)]),
    ]
    expect(Object.fromEntries(graph.tables)).toEqual(Object.fromEntries(expectedTables.map((t) => [t.name, t])))
    expect([...graph.tables.keys()]).toEqual(expectedTables.map((t) => t.name).sort())

    const root = `${s}.root`
    expect(graph.foreignKeys).toEqual([
      fk('child_cascade_root_fk', [`${s}.child_cascade`, ['root_id']], [root, ['id']], { onDelete: 'cascade' }),
      fk('child_optional_root_fk', [`${s}.child_optional`, ['root_id']], [root, ['id']], {
        nullable: true,
        onDelete: 'set null',
      }),
      fk('child_required_root_fk', [`${s}.child_required`, ['root_id']], [root, ['id']]),
      fk('cycle_a_b_fk', [`${s}.cycle_a`, ['b_id']], [`${s}.cycle_b`, ['id']], {
        onDelete: 'restrict',
        deferrable: true,
      }),
      fk('cycle_b_a_fk', [`${s}.cycle_b`, ['a_id']], [`${s}.cycle_a`, ['id']], {
        deferrable: true,
        initiallyDeferred: true,
      }),
      fk('event_root_fk', [`${s}.event`, ['root_id']], [root, ['id']], { onDelete: 'cascade' }),
      fk('event_note_event_fk', [`${s}.event_note`, ['event_id', 'event_kind']], [`${s}.event`, ['id', 'kind']], {
        onDelete: 'cascade',
      }),
      fk('node_parent_fk', [`${s}.node`, ['parent_id']], [`${s}.node`, ['id']], { nullable: true }),
      fk('pair_ref_pair_fk', [`${s}.pair_ref`, ['b', 'a']], [`${s}.pair`, ['y', 'x']], {
        nullable: true,
        onDelete: 'set default',
      }),
      fk('uses_outside_parent_fk', [`${s}.uses_outside`, ['outside_id']], [`${x}.outside_parent`, ['id']], {
        nullable: true,
      }),
      fk('outside_child_root_fk', [`${x}.outside_child`, ['root_id']], [root, ['id']]),
    ])
  })

  it('reads several schemas at once, and an empty list as an empty graph', async () => {
    const both = await introspectSchema(db, { schemas: [x, s] })
    expect(both.tables.has(`${x}.unrelated`)).toBe(true)
    expect(both.tables.has(`${s}.root`)).toBe(true)
    expect(both.foreignKeys.filter((k) => k.table.startsWith(`${x}.`)).map((k) => k.name)).toEqual([
      'outside_child_root_fk',
    ])
    const outside = await introspectSchema(db, { schemas: [x] })
    expect([...outside.tables.keys()]).toEqual([
      `${s}.root`,
      `${s}.uses_outside`,
      `${x}.outside_child`,
      `${x}.outside_parent`,
      `${x}.unrelated`,
    ])
    expect(outside.foreignKeys.map((k) => k.name)).toEqual(['uses_outside_parent_fk', 'outside_child_root_fk'])
    const none = await introspectSchema(db, { schemas: [] })
    expect(none.tables.size).toBe(0)
    expect(none.foreignKeys).toEqual([])
  })

  it('reads the reference schema (public) by default', async () => {
    const graph = await introspectSchema(db)
    const key = (table: string, column: string) =>
      graph.foreignKeys.filter((k) => k.table === `public.${table}` && k.columns.join() === column)
    const users = graph.tables.get('public.users')
    expect(users?.primaryKey).toEqual(['id'])
    expect(users?.columns.find((c) => c.name === 'email')).toEqual(col('email', 'text', false, true, true))
    expect(key('sessions', 'user_id')).toEqual([
      fk('sessions_user_id_users_id_fk', ['public.sessions', ['user_id']], ['public.users', ['id']], {
        onDelete: 'cascade',
      }),
    ])
    expect(key('bookings', 'parent_id')).toEqual([
      fk('bookings_parent_id_users_id_fk', ['public.bookings', ['parent_id']], ['public.users', ['id']]),
    ])
    expect(key('bookings', 'instructor_id')).toEqual([
      fk('bookings_instructor_id_users_id_fk', ['public.bookings', ['instructor_id']], ['public.users', ['id']]),
    ])
    expect(key('activity', 'user_id')).toEqual([
      fk('activity_user_id_users_id_fk', ['public.activity', ['user_id']], ['public.users', ['id']]),
    ])
    expect(graph.tables.get('public.activity')?.columns[0]).toEqual(col('id', 'bigint', false))
  })

  it('cachedSchema memoises per database and schema list until invalidateSchema', async () => {
    const first = cachedSchema(db, { schemas: [s, x] })
    expect(cachedSchema(db, { schemas: [x, s, x] })).toBe(first)
    const single = cachedSchema(db, { schemas: [s] })
    expect(single).not.toBe(first)
    const [graph] = await Promise.all([first, single])
    await db.execute(`create table "${s}".late (id text primary key)`)
    expect(await cachedSchema(db, { schemas: [s, x] })).toBe(graph)
    invalidateSchema(db)
    const fresh = await cachedSchema(db, { schemas: [s, x] })
    expect(fresh).not.toBe(graph)
    expect(fresh.tables.get(`${s}.late`)?.primaryKey).toEqual(['id'])
    expect(graph.tables.has(`${s}.late`)).toBe(false)
  })

  it('a graph cached before a table existed does not hide the rows a run wrote there', async () => {
    await cachedSchema(db, { schemas: [s] })
    await db.execute(`create table "${s}".later (id text primary key, note text)`)
    const prefix = `${createRunTag()}-1-`
    const key = { id: `${prefix}late` }
    await db.execute(`insert into "${s}".later (id, note) values ($1, 'untagged key')`, [key.id])
    const entry = {
      table: `${s}.later`,
      key,
      tag: null,
      tagColumns: [],
      scope: 1,
      test: 'writes to a table made after the cache',
      caller: null,
      factory: 'late',
      at: new Date(),
    }
    const found = await audit({ db, prefix, ledger: [entry], schemas: [s], registry: false, discover: false })
    expect(found.tables).toEqual({ [`${s}.later`]: 1 })
    const report = await cleanupPrefix(db, prefix, { schemas: [s], keys: new Map([[`${s}.later`, [key]]]) })
    expect(report.deleted).toEqual({ [`${s}.later`]: 1 })
    expect(await db.execute(`select id from "${s}".later`)).toEqual([])
  })

  it('cachedSchema keys by Database object and does not keep a failed introspection', async () => {
    const wrapper: Database = { ...db }
    const own = cachedSchema(db, { schemas: [s] })
    const other = cachedSchema(wrapper, { schemas: [s] })
    expect(other).not.toBe(own)
    // Awaited: an introspection still running when afterAll drops the schemas holds locks on their tables
    // (pg_relation_size), and DROP … CASCADE taking them in another order deadlocks (seen in CI).
    await Promise.all([own, other])
    let calls = 0
    const failing: Database = {
      ...db,
      execute: () => Promise.reject(new Error(`boom ${++calls}`)),
    }
    await expect(cachedSchema(failing)).rejects.toThrow('boom 1')
    await expect(cachedSchema(failing)).rejects.toThrow('boom 2')
  })
})
