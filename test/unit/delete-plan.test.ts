import { describe, expect, it } from 'vitest'
import { planCleanup } from '../../src/cleanup/delete-plan.js'
import type { ColumnSchema, ForeignKey, SchemaGraph, TableSchema } from '../../src/db/schema-graph.js'

const PREFIX = 'mx5kd9886lnznc-2-'
const text = (name: string): ColumnSchema => ({ name, type: 'text', nullable: false, textual: true })
const table = (name: string, columns: string[], primaryKey = ['id']): TableSchema => ({
  name: `public.${name}`,
  schema: 'public',
  table: name,
  primaryKey,
  columns: columns.map(text),
})
const fk = (name: string, from: string, columns: string[], to: string, refColumns: string[]): ForeignKey => ({
  name,
  table: `public.${from}`,
  columns,
  refTable: `public.${to}`,
  refColumns,
  nullable: false,
  onDelete: 'no action',
  deferrable: false,
  initiallyDeferred: false,
})

const graph: SchemaGraph = {
  tables: new Map(
    [
      table('users', ['id', 'email']),
      table('sessions', ['id', 'user_id']),
      // A composite key, referenced by a composite foreign key.
      table('seats', ['room', 'n', 'user_id'], ['room', 'n']),
      table('tickets', ['id', 'room', 'n'], ['id']),
    ].map((t) => [t.name, t]),
  ),
  foreignKeys: [
    fk('sessions_user_fk', 'sessions', ['user_id'], 'users', ['id']),
    fk('seats_user_fk', 'seats', ['user_id'], 'users', ['id']),
    fk('tickets_seat_fk', 'tickets', ['room', 'n'], 'seats', ['room', 'n']),
  ],
}

describe('planCleanup, one statement', () => {
  const plan = planCleanup(graph, {
    prefix: PREFIX,
    tagColumns: new Map([
      ['public.users', ['id', 'email']],
      ['public.sessions', ['id']],
      ['public.seats', ['room']],
    ]),
    keys: new Map(),
  })
  const statement = plan.deletes[0]!.text
  const cte = (table: string) => statement.split('\n').find((line) => line.includes(`delete from "public"."${table}"`))!

  it('matches single-column keys with = any(array(…)), which PostgreSQL runs as index scans', () => {
    // `in (select …)` was planned as a hash join over a sequential scan of every table: 2.1 ms of server
    // time for one test's cleanup of 9 rows, against 0.04 ms with = any(array(…)).
    expect(plan.mode).toBe('single')
    expect(cte('users')).toContain(`t."id" = any(array(select s."id" from "public"."users" as s where s."id" like $1`)
    expect(cte('sessions')).toContain(`s."user_id" = any(array(select "id" from d`)
    expect(cte('sessions')).toMatch(/^d\d as \(delete from "public"\."sessions" as t where t\."id" = any\(array\(/)
  })

  it('keeps row comparison with in (select …) for composite keys', () => {
    expect(cte('seats')).toMatch(/where \(t\."room", t\."n"\) in \(select s\."room", s\."n" from "public"\."seats"/)
    expect(cte('tickets')).toMatch(/\(s\."room", s\."n"\) in \(select "room", "n" from d\d\)/)
    expect(cte('tickets')).not.toContain('any(array(select "room"')
  })
})
