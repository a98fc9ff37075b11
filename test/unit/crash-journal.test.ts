import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendToJournal, journalPath, listJournals, readJournal, removeJournal } from '../../src/run/crash-journal.js'

const runTag = 'mi8d0k2wq3z9xa'
const processField = 'w3p4242x9k2j1a'

describe('crash journal', () => {
  let stateDir: string
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'leakless-journal-'))
  })
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }))

  it('appends one JSON line { table, key } per untagged entry to <stateDir>/runs/<runTag>/<processField>.journal', () => {
    appendToJournal(stateDir, runTag, processField, [
      { table: 'app.counter', key: { id: '7' }, tag: null },
      { table: 'public.users', key: { id: `${runTag}-${processField}-1-10` }, tag: `${runTag}-${processField}-1-10` },
      { table: 'app.pairs', key: { a: 1, b: 2n }, tag: null },
    ])
    appendToJournal(stateDir, runTag, processField, [{ table: 'app.counter', key: { id: '8' }, tag: null }])

    const path = journalPath(stateDir, runTag, processField)
    expect(path).toBe(join(stateDir, 'runs', runTag, `${processField}.journal`))
    expect(readFileSync(path, 'utf8')).toBe(
      [
        '{"table":"app.counter","key":{"id":"7"}}',
        '{"table":"app.pairs","key":{"a":1,"b":"2"}}',
        '{"table":"app.counter","key":{"id":"8"}}',
        '',
      ].join('\n'),
    )
  })

  it('writes nothing for tagged rows: no file at all', () => {
    appendToJournal(stateDir, runTag, processField, [{ table: 'public.users', key: { id: 'x' }, tag: 'x' }])
    expect(existsSync(join(stateDir, 'runs'))).toBe(false)
  })

  it('reads keys grouped by table, without duplicates, skipping a torn last line', () => {
    appendToJournal(stateDir, runTag, processField, [
      { table: 'app.counter', key: { id: '7' }, tag: null },
      { table: 'app.other', key: { id: 1 }, tag: null },
      { table: 'app.counter', key: { id: '7' }, tag: null },
      { table: 'app.counter', key: { id: '9' }, tag: null },
    ])
    appendFileSync(journalPath(stateDir, runTag, processField), '{"table":"app.counter","ke')

    expect(readJournal(stateDir, runTag, processField)).toEqual(
      new Map([
        ['app.counter', [{ id: '7' }, { id: '9' }]],
        ['app.other', [{ id: 1 }]],
      ]),
    )
  })

  it('ignores lines that are not journal entries', () => {
    const path = journalPath(stateDir, runTag, processField)
    mkdirSync(join(stateDir, 'runs', runTag), { recursive: true })
    writeFileSync(
      path,
      ['null', '[]', '{"table":1,"key":{}}', '{"table":"t.a","key":[1]}', '{"table":"t.a","key":{"id":1}}'].join('\n'),
    )
    expect(readJournal(stateDir, runTag, processField)).toEqual(new Map([['t.a', [{ id: 1 }]]]))
  })

  it('reads an empty map when there is no journal; removing is idempotent', () => {
    expect(readJournal(stateDir, runTag, processField)).toEqual(new Map())
    appendToJournal(stateDir, runTag, processField, [{ table: 'app.counter', key: { id: '1' }, tag: null }])
    removeJournal(stateDir, runTag, processField)
    expect(existsSync(journalPath(stateDir, runTag, processField))).toBe(false)
    expect(() => removeJournal(stateDir, runTag, processField)).not.toThrow()
  })

  it('lists journals with their process prefix, ignoring claim files and foreign names', () => {
    appendToJournal(stateDir, runTag, processField, [{ table: 'app.counter', key: { id: '1' }, tag: null }])
    appendToJournal(stateDir, runTag, 's2w0p7x000000', [{ table: 'app.counter', key: { id: '2' }, tag: null }])
    writeFileSync(join(stateDir, 'runs', runTag, 'w3p4242'), '{}') // a process claim
    writeFileSync(join(stateDir, 'runs', runTag, 'not-ours.journal'), '')
    mkdirSync(join(stateDir, 'runs', 'not-a-run-tag'))

    expect(listJournals(stateDir).map((j) => j.prefix)).toEqual([
      `${runTag}-s2w0p7x000000-`,
      `${runTag}-${processField}-`,
    ])
    expect(listJournals(join(stateDir, 'missing'))).toEqual([])
  })
})
