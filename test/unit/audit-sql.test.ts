import { describe, expect, it } from 'vitest'
import { buildAuditQueries, combineAuditQueries } from '../../src/audit/audit-sql.js'
import type { SchemaGraph, TableSchema } from '../../src/db/schema-graph.js'

const column = (name: string) => ({ name, type: 'text', nullable: false, textual: true })
const table = (name: string, columns: string[]): TableSchema => ({
  name: `public.${name}`,
  schema: 'public',
  table: name,
  primaryKey: ['id'],
  columns: columns.map(column),
})
const graph: SchemaGraph = {
  tables: new Map([
    ['public.users', table('users', ['id', 'email'])],
    ['public.sessions', table('sessions', ['id', 'user_id'])],
  ]),
  foreignKeys: [
    {
      name: 'sessions_user_id_fk',
      table: 'public.sessions',
      columns: ['user_id'],
      refTable: 'public.users',
      refColumns: ['id'],
      nullable: false,
      onDelete: 'no action',
      deferrable: false,
      initiallyDeferred: false,
    },
  ],
}

describe('buildAuditQueries', () => {
  it('gives each way a row can be owned a branch of its own, joined by the primary key, not one OR', () => {
    // One OR across a LIKE, a ledger key list and a subquery left the planner a sequential scan (and JIT):
    // 207 ms beside 1 000 000 rows not ours, where each branch alone uses its index.
    const { queries } = buildAuditQueries(
      graph,
      { tagColumns: new Map([['public.users', ['id', 'email']]]), keys: new Map([['public.users', [{ id: 'a' }]]]) },
      { pattern: 'mx6ek9xv8118yd-%', deep: false, limit: 10 },
    )
    const users = queries.find((q) => q.table.name === 'public.users')!
    const where = users.text.slice(users.text.indexOf(`from "public"."users" as t where `) + 33)
    expect(where).toMatch(/^t\."id" in \(select "id" from "public"\."users" as t where t\."id" like \$1/)
    expect(where.match(/ union all /g)).toHaveLength(2)
    expect(where).not.toMatch(/like \$1 escape '\\' or /)
    // A dependent's owners: the parent's conditions in branches too, inside the subquery.
    const sessions = queries.find((q) => q.table.name === 'public.sessions')!
    expect(sessions.text).toContain(
      `t."user_id" in (select p1."id" from "public"."users" as p1 where p1."id" in (select p1b."id" from "public"."users" as p1b where p1b."id" like $1`,
    )
  })

  it('numbers the parameters of all tables in one list, so the queries run as one statement', () => {
    const built = buildAuditQueries(
      graph,
      {
        tagColumns: new Map([['public.users', ['id']]]),
        keys: new Map([
          ['public.users', [{ id: 'a' }]],
          ['public.sessions', [{ id: 'b' }]],
        ]),
      },
      { pattern: 'mx6ek9xv8118yd-%', deep: false, limit: 10 },
    )
    expect(built.params).toEqual(['mx6ek9xv8118yd-%', '[{"id":"a"}]', '[{"id":"b"}]'])
    const users = built.queries.find((q) => q.table.name === 'public.users')!
    const sessions = built.queries.find((q) => q.table.name === 'public.sessions')!
    expect(users.text).toContain('json_to_recordset($2::json)')
    expect(sessions.text).toContain('json_to_recordset($3::json)')
    const { text, params } = combineAuditQueries(built)
    expect(params).toBe(built.params)
    expect(text.split('\nunion all\n')).toEqual(
      built.queries.map((q, i) => `select ${i} as "q", x.* from (${q.text}) as x`),
    )
  })
})
