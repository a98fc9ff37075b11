import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  canonicalTableKey,
  columnsByTableKey,
  parseTableKey,
  rulesByTableKey,
  schemaOfKey,
  tableKey,
} from '../../src/table-key.js'

describe('tableKey', () => {
  it('writes plain lower-case names bare, as every report has them', () => {
    expect(tableKey('public', 'users')).toBe('public.users')
    expect(tableKey('app_2', 'order_items$')).toBe('app_2.order_items$')
  })

  it('quotes a part with a dot, upper case, a space, a quote or a leading digit', () => {
    expect(tableKey('x', 'y.z')).toBe('x."y.z"')
    expect(tableKey('x.y', 'z')).toBe('"x.y".z')
    expect(tableKey('public', 'Users')).toBe('public."Users"')
    expect(tableKey('my schema', 'a"b')).toBe('"my schema"."a""b"')
    expect(tableKey('public', '1st')).toBe('public."1st"')
  })

  it('keeps apart every two tables, and parseTableKey gives back schema and name', () => {
    const name = fc.string({
      minLength: 1,
      maxLength: 12,
      unit: fc.constantFrom('a', 'Z', '.', '"', ' ', '_', '1', "'"),
    })
    fc.assert(
      fc.property(name, name, (schema, table) => {
        const key = tableKey(schema, table)
        expect(parseTableKey(key)).toEqual({ schema, name: table })
        expect(canonicalTableKey(key)).toBe(key)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('parseTableKey', () => {
  it('reads keys written by hand: unquoted parts as they are, no schema meaning public', () => {
    expect(parseTableKey('public.Users')).toEqual({ schema: 'public', name: 'Users' })
    expect(parseTableKey('users')).toEqual({ schema: 'public', name: 'users' })
    expect(parseTableKey('Users')).toEqual({ schema: 'public', name: 'Users' })
    expect(parseTableKey('"public"."users"')).toEqual({ schema: 'public', name: 'users' })
    expect(parseTableKey('My Schema.My "Table"')).toEqual({ schema: 'My Schema', name: 'My "Table"' })
    expect(canonicalTableKey('public.Users')).toBe('public."Users"')
    expect(canonicalTableKey('"public"."users"')).toBe('public.users')
    expect(schemaOfKey('"x.y".z')).toBe('x.y')
    expect(schemaOfKey('x."y.z"')).toBe('x')
  })

  it('refuses a key its dots could split more than one way, naming both readings', () => {
    expect(() => parseTableKey('x.y.z')).toThrow(
      expect.objectContaining({
        code: 'TABLE_KEY_INVALID',
        name: 'ConfigError',
        message: expect.stringContaining('could name more than one table (x."y.z" or "x.y".z)'),
      }),
    )
  })

  it.each(['', '.', 'public.', '.users', 'a.b."c"', '"unclosed', '"a"b.c', '""', 'public.""'])(
    'refuses %j with TABLE_KEY_INVALID',
    (key) => {
      expect(() => parseTableKey(key)).toThrow(expect.objectContaining({ code: 'TABLE_KEY_INVALID' }))
    },
  )
})

describe('config records', () => {
  it('rekeys tag columns, merging two keys of one table', () => {
    expect(columnsByTableKey({ 'public.Users': ['email'], 'public."Users"': ['id', 'email'], users: ['id'] })).toEqual({
      'public."Users"': ['email', 'id'],
      'public.users': ['id'],
    })
    expect(columnsByTableKey(undefined)).toBeUndefined()
  })

  it('rekeys nullable-dependent rules, and refuses one table with two rules', () => {
    expect(rulesByTableKey({ 'public.Notes': 'detach', 'public."Notes"': 'detach' })).toEqual({
      'public."Notes"': 'detach',
    })
    expect(() => rulesByTableKey({ 'public.Notes': 'detach', 'public."Notes"': 'delete' })).toThrow(
      expect.objectContaining({ code: 'TABLE_KEY_INVALID' }),
    )
  })
})
