import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { integer, pgSchema, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { compileInsert } from '../../src/factory/insert-statement.js'

const things = pgTable('things', {
  id: text('id').primaryKey(),
  label: text('label').$defaultFn(() => 'made-by-default-fn'),
  count: integer('count').default(3),
  seenAt: timestamp('seen_at', { withTimezone: true }),
  total: integer('total').generatedAlwaysAs(sql`1 + 1`),
  'odd"name': text('odd"name'),
})

const plain = pgTable('plain', { id: text('id').primaryKey(), label: text('label'), count: integer('count') })

describe('compileInsert', () => {
  it('writes one multi-row INSERT with parameters, DEFAULT for missing values and RETURNING every column', () => {
    const at = new Date('2030-01-02T03:04:05.678Z')
    const statement = compileInsert(things, [
      { id: 'a', seenAt: at, count: null },
      { id: 'b', label: 'given', count: 7 },
    ])!
    expect(statement.text).toBe(
      'insert into "things" ("id", "label", "count", "seen_at", "odd""name") values ($1, $2, $3, $4, default), ($5, $6, $7, default, default) ' +
        'returning "id", "label", "count", "seen_at", "total", "odd""name"',
    )
    expect(statement.params).toEqual(['a', 'made-by-default-fn', null, at.toISOString(), 'b', 'given', 7])
    expect(statement.columns.map(([key]) => key)).toEqual(['id', 'label', 'count', 'seenAt', 'total', 'odd"name'])
  })

  it('sends a list as one array literal per column with unnest when the driver allows it', () => {
    const statement = compileInsert(
      plain,
      [
        { id: 'a', label: 'x "y", \\z', count: 1 },
        { id: 'b', label: null, count: 2 },
      ],
      { arrays: true },
    )!
    expect(statement.text).toBe(
      'insert into "plain" ("id", "label", "count") select * from unnest($1::text[], $2::text[], $3::integer[]) returning "id", "label", "count"',
    )
    expect(statement.params).toEqual(['{"a","b"}', '{"x \\"y\\", \\\\z",NULL}', '{1,2}'])
    // a value missing in some rows must become DEFAULT: back to VALUES
    expect(compileInsert(plain, [{ id: 'a', count: 1 }, { id: 'b' }], { arrays: true })!.text).toContain('values')
  })

  it('qualifies tables of a schema', () => {
    const audit = pgSchema('audit').table('entries', { id: text('id').primaryKey() })
    expect(compileInsert(audit, [{ id: 'x' }])!.text).toBe(
      'insert into "audit"."entries" ("id") values ($1) returning "id"',
    )
  })

  it('leaves SQL expressions to drizzle', () => {
    expect(compileInsert(things, [{ id: 'a', seenAt: sql`now()` }])).toBeNull()
  })
})
