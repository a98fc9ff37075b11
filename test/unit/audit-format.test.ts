import { describe, expect, it } from 'vitest'
import { auditToJson, formatAge, formatAuditReport, leakError, type AuditReport } from '../../src/audit/index.js'
import { decodeId } from '../../src/index.js'

const PREFIX = 'mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-'
const USER = `${PREFIX}10`
const provenance = (id: string) => decodeId(id)!
const ESC = '\u001b['

const report: AuditReport = {
  prefix: PREFIX,
  clean: false,
  tables: { 'public.users': 2, 'public.activity': 1 },
  truncated: [],
  durationMs: 12.3456,
  rows: [
    {
      table: 'public.users',
      key: { id: USER },
      column: 'id',
      tag: USER,
      via: null,
      provenance: provenance(USER),
      test: 'books a lesson',
      caller: '/repo/test/booking.test.ts:12:7',
      factory: true,
      ageMs: 3_400,
    },
    {
      table: 'public.users',
      key: { id: 'someone-else' },
      column: 'name',
      tag: `${PREFIX}hidden`,
      via: null,
      provenance: null,
      test: null,
      caller: null,
      factory: null,
      ageMs: null,
    },
    {
      table: 'public.activity',
      key: { id: 17 },
      column: null,
      tag: null,
      via: 'activity_user_id_users_id_fk',
      provenance: provenance(USER),
      test: 'books a lesson',
      // The app wrote it: it names its test, never the line of the factory call that made its parent.
      caller: null,
      factory: false,
      ageMs: 2 * 60_000 + 5_000,
    },
  ],
}

describe('formatAuditReport', () => {
  it('prints a header, then one block per table with rows grouped by test', () => {
    const text = formatAuditReport(report, { cwd: '/repo' })
    expect(text).toBe(
      [
        `leakless audit ${PREFIX}: 3 rows left in 2 tables`,
        '',
        'public.users (2 rows)',
        '  test "books a lesson"',
        `    id=${USER}  tag in id                                    w3 p4242  test/booking.test.ts:12:7  3s`,
        '  (no test recorded)',
        `    id=someone-else                        name=${PREFIX}hidden  -         -                          -`,
        '',
        'public.activity (1 row)',
        '  test "books a lesson"',
        '    id=17  via activity_user_id_users_id_fk  w3 p4242  written outside a factory  2m',
      ].join('\n'),
    )
  })

  it('uses ANSI colours only when asked', () => {
    expect(formatAuditReport(report)).not.toContain(ESC)
    expect(formatAuditReport(report, { color: false })).not.toContain(ESC)
    expect(formatAuditReport(report, { color: true })).toContain(`${ESC}1mpublic.users${ESC}0m`)
  })

  it('says clean when nothing is left', () => {
    const clean: AuditReport = { ...report, clean: true, rows: [], tables: {} }
    expect(formatAuditReport(clean)).toBe(`leakless audit ${PREFIX}: clean`)
  })

  it('marks truncated tables and keeps callers outside cwd absolute', () => {
    const text = formatAuditReport({ ...report, truncated: ['public.users'] }, { cwd: '/elsewhere' })
    expect(text).toContain('public.users (2 rows, more not shown)')
    expect(text).toContain('/repo/test/booking.test.ts:12:7')
  })
})

describe('formatAge', () => {
  it.each([
    [null, '-'],
    [-5, '0s'],
    [999, '0s'],
    [3_000, '3s'],
    [59_999, '59s'],
    [2 * 60_000, '2m'],
    [3_600_000, '1h'],
    [47 * 3_600_000, '1d'],
    [3 * 86_400_000, '3d'],
  ])('%s ms → %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text)
  })
})

describe('auditToJson and leakError', () => {
  it('serialises dates as ISO strings and round-trips through JSON', () => {
    const json = auditToJson({ ...report, rows: [{ ...report.rows[0]!, key: { at: new Date(0), n: 1n } }] })
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    expect(json.rows[0]!.key).toEqual({ at: '1970-01-01T00:00:00.000Z', n: '1' })
    expect(json.rows[0]!.provenance!.time).toBe(provenance(USER).time.toISOString())
  })

  it('names the test to fix and how to remove the rows', () => {
    const error = leakError(report)
    expect(error).toMatchObject({ name: 'LeakError', code: 'LEAKS_FOUND' })
    expect(error.message).toContain(`leakless audit ${PREFIX}: 3 rows left in 2 tables`)
    expect(error.message).toContain('Fix the test that left them: "books a lesson" (/repo/test/booking.test.ts:12:7)')
    expect(error.message).toContain('leakless sweep')
    expect(error.message).not.toContain(ESC)
  })
})
