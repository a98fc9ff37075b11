import { describe, expect, it } from 'vitest'
import { discoveryQuery, SMALL_TABLE_BYTES } from '../../src/cleanup/discover.js'
import { planCleanup } from '../../src/cleanup/delete-plan.js'
import type { ColumnSchema, SchemaGraph, TableSchema } from '../../src/db/schema-graph.js'
import { withJournal, type JournalTarget } from '../../src/registry/journal-sql.js'

const PREFIX = 'mx5kd9886lnznc-w1p8169xf4xg6v-2-'
const text = (name: string, extra: Partial<ColumnSchema> = {}): ColumnSchema => ({
  name,
  type: 'text',
  nullable: true,
  textual: true,
  ...extra,
})
const int = (name: string): ColumnSchema => ({ name, type: 'integer', nullable: false, textual: false })
const table = (name: string, columns: ColumnSchema[], bytes: number, primaryKey = ['id']): TableSchema => ({
  name: `app.${name}`,
  schema: 'app',
  table: name,
  primaryKey,
  columns,
  bytes,
})

const graph: SchemaGraph = {
  tables: new Map(
    [
      table('users', [int('id'), text('email'), text('name')], 8192),
      table('teams', [int('id'), text('name')], 8192),
      table('members', [int('id'), int('team_id'), text('user_ref')], 8192),
      table('big', [int('id'), text('indexed', { prefixIndexed: true }), text('plain')], SMALL_TABLE_BYTES + 1),
      table('counters', [int('id'), int('n')], 8192),
    ].map((t) => [t.name, t]),
  ),
  foreignKeys: [
    {
      name: 'members_team_fk',
      table: 'app.members',
      columns: ['team_id'],
      refTable: 'app.teams',
      refColumns: ['id'],
      nullable: false,
      onDelete: 'no action',
      deferrable: false,
      initiallyDeferred: false,
    },
    {
      name: 'members_user_fk',
      table: 'app.members',
      columns: ['user_ref'],
      refTable: 'app.users',
      refColumns: ['email'],
      nullable: true,
      onDelete: 'no action',
      deferrable: false,
      initiallyDeferred: false,
    },
  ],
}

const target = (over: Partial<JournalTarget> = {}): JournalTarget => ({
  prefix: PREFIX,
  runPrefix: 'mx5kd9886lnznc-',
  runTag: 'mx5kd9886lnznc',
  schema: 'app',
  table: 'counters',
  keyColumns: ['id'],
  stringColumns: [],
  newTagColumns: [],
  journal: true,
  ...over,
})

describe('withJournal', () => {
  const insert = { text: 'insert into "app"."counters" ("n") values ($1) returning "id", "n"', params: [7] }

  it('leaves an insert of tagged rows that teaches nothing new exactly as it was', () => {
    expect(withJournal(insert, target({ journal: false }))).toBe(insert)
  })

  it('journals every returned key in the same statement, typed parameters after the insert’s own', () => {
    const { text: sql, params } = withJournal(insert, target())
    expect(sql).toBe(
      `with ins as (${insert.text}),\nj as (insert into "leakless"."untagged" (prefix, table_schema, table_name, key) select $2::text, $3::text, $4::text, jsonb_build_object('id', ins."id"::text) from ins)\nselect * from ins`,
    )
    expect(params).toEqual([7, PREFIX, 'app', 'counters'])
  })

  it('journals only rows none of whose own string columns starts with the run prefix', () => {
    const { text: sql, params } = withJournal(insert, target({ stringColumns: ['email', 'we"ird'] }))
    expect(sql).toContain(
      `from ins where not (coalesce(starts_with(ins."email"::text, $2::text), false) or coalesce(starts_with(ins."we""ird"::text, $2::text), false))`,
    )
    expect(params[1]).toBe('mx5kd9886lnznc-')
  })

  it('records tag columns the registry does not know yet, and journals nothing for a table without a key', () => {
    const { text: sql, params } = withJournal(
      insert,
      target({ keyColumns: [], journal: true, newTagColumns: [{ column: 'email', source: 'insert' }] }),
    )
    expect(sql).not.toContain('"untagged"')
    expect(sql).toContain(
      `c as (insert into "leakless"."tag_columns" (run_tag, table_schema, table_name, column_name, source) values ($2::text, $3::text, $4::text, $5::text, $6::text) on conflict do nothing)`,
    )
    expect(params).toEqual([7, 'mx5kd9886lnznc', 'app', 'counters', 'email', 'insert'])
  })
})

describe('discoveryQuery', () => {
  it('scans small tables in one pass, big ones only through a prefix index, never known or foreign-key columns', () => {
    const query = discoveryQuery(graph, new Map([['app.users', ['email']]]), PREFIX)!
    expect(query.params).toEqual([`${PREFIX}%`])
    expect(query.text).toContain(`case when bool_or(s."name" like $1 escape '\\') then 'name' end`)
    expect(query.text).not.toContain(`s."email"`) // known
    expect(query.text).not.toContain(`s."user_ref"`) // a foreign key: a reference, not a tag
    expect(query.text).toContain(`exists (select from "app"."big" as s where s."indexed" like $1 escape '\\')`)
    expect(query.text).not.toContain(`s."plain"`) // big, no index: left to the deep audit
    expect(query.text).not.toContain('"app"."counters"') // no text column
  })

  it('is null when there is nothing to look at', () => {
    const small: SchemaGraph = {
      tables: new Map([['app.counters', graph.tables.get('app.counters')!]]),
      foreignKeys: [],
    }
    expect(discoveryQuery(small, new Map(), PREFIX)).toBeNull()
  })
})

describe('planCleanup with the registry', () => {
  it('seeds a table from the keys journaled under the prefix and deletes the entries in the same statement', () => {
    const plan = planCleanup(graph, {
      prefix: PREFIX,
      tagColumns: new Map(),
      keys: new Map(),
      registryKeys: new Set(['app.counters']),
      journal: true,
    })
    expect(plan.mode).toBe('single')
    expect(plan.deletes).toHaveLength(1)
    const [statement] = plan.deletes
    expect(statement!.text).toContain(
      `s."id" in (select (j.key ->> 'id')::integer from "leakless"."untagged" as j where j.table_schema = 'app' and j.table_name = 'counters' and j.prefix like $1 escape '\\')`,
    )
    expect(statement!.text).toContain(
      `dj as (delete from "leakless"."untagged" as j where j.prefix like $1 escape '\\')`,
    )
    expect(statement!.params).toEqual([`${PREFIX}%`])
    // The dry-run count deletes nothing, journal included.
    expect(plan.count!.text).not.toMatch(/delete from/)
  })

  it('plans no statement at all when there is nothing to delete (no empty WITH)', () => {
    const plan = planCleanup(graph, { prefix: PREFIX, tagColumns: new Map(), keys: new Map() })
    expect(plan.tables).toEqual([])
    expect(plan.deletes).toEqual([])
    expect(plan.count!.text).toBe('select null::text as "table", 0 as "deleted" where false')
  })

  it('only the journal: one statement that deletes the entries', () => {
    const plan = planCleanup(graph, { prefix: PREFIX, tagColumns: new Map(), keys: new Map(), journal: true })
    expect(plan.deletes.map((d) => d.text)).toEqual([
      `with dj as (delete from "leakless"."untagged" as j where j.prefix like $1 escape '\\')\nselect null::text as "table", 0 as "deleted" where false`,
    ])
  })
})
