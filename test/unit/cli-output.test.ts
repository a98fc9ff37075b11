import { describe, expect, it } from 'vitest'
import { decodeCommand, decodedToJson, formatDecoded } from '../../src/cli/decode-command.js'
import { useColor, type CliIo } from '../../src/cli/io.js'
import { formatSweepReport, sweepToJson } from '../../src/cli/sweep-format.js'
import type { SweepReport } from '../../src/cleanup/sweep.js'
import { decodeId } from '../../src/index.js'

const ID = 'mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-10'
const SHARDED = 'mi8d0k2wq3z9xa-s2w3p4242xk3z9a1-1-10'

function memoryIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    env: {},
    stdoutTTY: false,
    stderrTTY: false,
  }
}

describe('decode output', () => {
  it('prints aligned key: value lines with the time as ISO and - for no shard', () => {
    const decoded = decodeId(`${ID}.parent@example.test`)!
    const lines = formatDecoded(decoded).split('\n')
    expect(lines).toEqual([
      `id:            ${ID}`,
      'runTag:        mi8d0k2wq3z9xa',
      `time:          ${decoded.time.toISOString()}`,
      'shard:         -',
      'process:       -',
      'worker:        3',
      'pid:           4242',
      'reuse:         0',
      'nonce:         k3z9a1',
      'scope:         1',
      'seq:           0',
      'runPrefix:     mi8d0k2wq3z9xa-',
      'processPrefix: mi8d0k2wq3z9xa-w3p4242xk3z9a1-',
      'scopePrefix:   mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-',
    ])
  })

  it('prints the registry process number of a short id, and - for the worker and pid it does not carry', () => {
    const text = formatDecoded(decodeId('mi8d0k2wq3z9xa-s2n17-1-10@example.test')!)
    expect(text).toMatch(/^shard: {9}2$/m)
    expect(text).toMatch(/^process: {7}17$/m)
    expect(text).toMatch(/^worker: {8}-$/m)
    expect(text).toMatch(/^processPrefix: mi8d0k2wq3z9xa-s2n17-$/m)
  })

  it('prints the shard when there is one', () => {
    expect(formatDecoded(decodeId(SHARDED)!)).toMatch(/^shard: {9}2$/m)
  })

  it('--json is one object with the time as ISO string, null for no shard', () => {
    const io = memoryIo()
    expect(decodeCommand(ID, { json: true }, io)).toBe(0)
    const json = JSON.parse(io.stdout.join('\n'))
    expect(json).toEqual(JSON.parse(JSON.stringify(decodedToJson(decodeId(ID)!))))
    expect(json).toMatchObject({ id: ID, worker: 3, pid: 4242, scope: 1, shard: null })
    expect(typeof json.time).toBe('string')
  })

  it('exits 1 with a message on stderr for a value that is not an id', () => {
    const io = memoryIo()
    expect(decodeCommand('test@example.com', {}, io)).toBe(1)
    expect(io.stdout).toEqual([])
    expect(io.stderr.join('\n')).toMatch(/^"test@example\.com" is not a leakless id/)
  })
})

describe('sweep summary', () => {
  const report: SweepReport = {
    swept: [
      {
        prefix: 'mi8d0k2wq3z9xa-w3p4242xk3z9a1-',
        runTag: 'mi8d0k2wq3z9xa',
        shard: null,
        process: null,
        worker: 3,
        pid: 4242,
        startedAt: new Date('2025-11-18T10:00:00.000Z'),
        deleted: { 'public.users': 2, 'public.sessions': 1 },
      },
      {
        prefix: 'mi8d0k2wq3z9xa-s2w10p7xk3z9a1-',
        runTag: 'mi8d0k2wq3z9xa',
        shard: 2,
        process: null,
        worker: 10,
        pid: 7,
        startedAt: new Date('2025-11-18T10:00:00.000Z'),
        deleted: {},
      },
    ],
    schemas: [],
    databases: [],
    templates: [],
    skipped: [
      { prefix: 'a', reason: 'lease held' },
      { prefix: 'b', reason: 'too young' },
      { prefix: 'c', reason: 'lease held' },
    ],
    forgotten: [],
    dryRun: true,
    durationMs: 12.34567,
  }

  it('summarises rows, processes and what was skipped', () => {
    expect(formatSweepReport(report, 3_600_000).split('\n')).toEqual([
      'leakless sweep (dry run): would delete 3 rows of 2 dead processes (runs older than 1h)',
      '  mi8d0k2wq3z9xa-w3p4242xk3z9a1-  w3 p4242  run started 2025-11-18T10:00:00.000Z  public.users 2, public.sessions 1',
      '  mi8d0k2wq3z9xa-s2w10p7xk3z9a1-  s2 w10 p7  run started 2025-11-18T10:00:00.000Z  no rows',
      'skipped 3 processes: 2 still running (lease held), 1 younger than 1h',
    ])
  })

  it('says when there is nothing to sweep', () => {
    const empty = {
      swept: [],
      schemas: [],
      databases: [],
      templates: [],
      skipped: [],
      forgotten: [],
      dryRun: false,
      durationMs: 1,
    }
    expect(formatSweepReport(empty, 0)).toBe('leakless sweep: nothing to sweep (no dead run of any age)')
    expect(
      formatSweepReport({ ...empty, swept: [{ ...report.swept[0]!, deleted: { 'public.users': 1 } }] }, 0),
    ).toMatch(/^leakless sweep: deleted 1 row of 1 dead process \(runs of any age\)\n/)
    expect(formatSweepReport({ ...empty, forgotten: ['mi8d0k2wq3z9xa'] }, 0).split('\n')[1]).toBe(
      'removed from the run registry: 1 finished run (mi8d0k2wq3z9xa)',
    )
    const schema = { name: 'mi8d0k2wq3z9xa_3', runTag: 'mi8d0k2wq3z9xa', owner: 'mi8d0k2wq3z9xa-3-' }
    expect(formatSweepReport({ ...empty, schemas: [schema] }, 0).split('\n')[1]).toBe(
      'dropped 1 schema leakless created for dead processes: mi8d0k2wq3z9xa_3',
    )
    const database = { ...schema, name: 'test_mi8d0k2wq3z9xa_3' }
    expect(formatSweepReport({ ...empty, databases: [database], dryRun: true }, 0).split('\n')[1]).toBe(
      'would drop 1 database leakless created for dead processes: test_mi8d0k2wq3z9xa_3',
    )
    expect(formatSweepReport({ ...empty, templates: ['test_lkt_0123456789ab'] }, 0).split('\n')[1]).toBe(
      'dropped 1 template database unused for a week: test_lkt_0123456789ab',
    )
  })

  it('--json has ISO dates and the threshold', () => {
    const json = JSON.parse(JSON.stringify(sweepToJson(report, 0)))
    expect(json).toMatchObject({ dryRun: true, olderThanMs: 0, durationMs: 12.346 })
    expect(json.swept[0]).toMatchObject({ startedAt: '2025-11-18T10:00:00.000Z', deleted: { 'public.users': 2 } })
    expect(json.skipped).toHaveLength(3)
  })
})

describe('cli helpers', () => {
  it('colours only on a terminal without NO_COLOR', () => {
    expect(useColor({ stdoutTTY: true, env: {} })).toBe(true)
    expect(useColor({ stdoutTTY: false, env: {} })).toBe(false)
    expect(useColor({ stdoutTTY: true, env: { NO_COLOR: '1' } })).toBe(false)
  })
})
