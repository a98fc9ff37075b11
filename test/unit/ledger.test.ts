import { describe, expect, it } from 'vitest'
import { Ledger, ScopeLedger, type LedgerEntry } from '../../src/run/index.js'

const PREFIX = 'mi8d0k2wq3z9xa-w3p4242xk3z9a1-'
const entry = (table: string, id: unknown, tag: string | null, tagColumns: string[] = []): LedgerEntry => ({
  table,
  key: { id },
  tag,
  tagColumns,
  scope: 1,
  test: 't',
  caller: null,
  factory: table,
  at: new Date(0),
})

describe('Ledger', () => {
  it('a cleanup releases what it owned: untagged rows and rows tagged with its prefix, not others', () => {
    const run = new Ledger()
    const scope = new ScopeLedger(run)
    const tagged = entry('public.users', `${PREFIX}1-10`, `${PREFIX}1-10`, ['id', 'email'])
    const untagged = entry('public.counter', 7, null)
    const borrowed = entry('public.users', `${PREFIX}2-10`, `${PREFIX}2-10`, ['id'])
    scope.record([tagged, untagged, borrowed])
    const owned = scope.ownedBy(`${PREFIX}1-`)
    expect(owned).toEqual([tagged, untagged])
    scope.release(owned)
    expect(scope.entries).toEqual([borrowed])
    expect(run.entries).toEqual([borrowed])
    expect(run.size).toBe(1)
    // What inserts taught stays; a scope's report still has every row it made.
    expect(run.tagColumns()).toEqual({ 'public.users': ['id', 'email'] })
    expect(run.tables()).toEqual(['public.users', 'public.counter'])
    expect(run.recordedPerTable()).toEqual({ 'public.users': 2, 'public.counter': 1 })
    expect(scope.recorded).toEqual([tagged, untagged, borrowed])
  })

  it('an entry released through the run ledger is left out by the scope ledger that holds it too', () => {
    const run = new Ledger()
    const scope = new ScopeLedger(run)
    const untagged = entry('public.counter', 7, null)
    scope.record([untagged])
    run.release(run.ownedBy(PREFIX))
    expect(run.size).toBe(0)
    expect(scope.size).toBe(0)
    expect(scope.ownedBy(`${PREFIX}1-`)).toEqual([])
    expect(scope.byTable()).toEqual({})
  })
})
