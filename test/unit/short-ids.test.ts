import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync, type CreateRunOptions } from '../../src/run/index.js'
import { decodeHandle, decodeId, isLeaklessError } from '../../src/index.js'
import { createRunTag } from '../../src/ids/index.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-short-'))
const makeRun = (options: CreateRunOptions = {}) =>
  createRunSync({ stateDir, env: {}, runTag: createRunTag(), ...options })

describe('short ids (a process number from the run registry)', () => {
  it('are <runTag>-<number>-<scope>-<seq>: 21 characters, and decode back', () => {
    const run = makeRun({ processNumber: 7, worker: 3, pid: 4242 })
    const t = run.scope('signs up')
    const id = t.id()
    expect(id).toBe(`${run.runTag}-7-1-10`)
    expect(id).toHaveLength(21)
    expect(decodeId(id)).toEqual({
      id,
      runTag: run.runTag,
      time: run.startedAt,
      shard: null,
      process: 7,
      worker: null,
      pid: null,
      reuse: 0,
      nonce: null,
      scope: 1,
      seq: 0,
      runPrefix: `${run.runTag}-`,
      processPrefix: run.prefix,
      scopePrefix: t.prefix,
    })
  })

  it('carry the shard as s<shard>n<number>, which no long field can read as', () => {
    const run = makeRun({ processNumber: 12, shard: 3 })
    expect(run.prefix).toBe(`${run.runTag}-s3n12-`)
    const d = decodeId(run.scope('x').id())!
    expect([d.shard, d.process, d.worker]).toEqual([3, 12, null])
    // Not ids: a number with a leading zero, "n" without a shard, a shard without a number.
    for (const field of ['07', 'n7', 's3n', 's3n0', '0']) expect(decodeId(`${run.runTag}-${field}-1-10`)).toBeNull()
  })

  it('keep the documented budget: the default id at most 24 characters, e-mail("signup") at most 45', () => {
    // The budget's corners: 999 processes, 1295 tests in a process, 36 ids in a test.
    for (const [processNumber, tests] of [
      [1, 1],
      [999, 1295],
    ] as const) {
      const run = makeRun({ processNumber })
      let scope = run.scope('t')
      for (let i = 1; i < tests; i++) scope = run.scope('t')
      for (let i = 0; i < 35; i++) scope.id()
      expect(scope.id().length).toBeLessThanOrEqual(24)
      expect(scope.email('signup').length).toBeLessThanOrEqual(45)
    }
    const first = makeRun({ processNumber: 1 }).scope('t')
    expect(first.email('signup')).toMatch(/^[0-9a-z]{14}-1-1-10\.signup@example\.test$/)
    expect(first.email('signup')).toHaveLength(41)
  })

  it('without a process number the field stays long (worker, pid, nonce), as before', () => {
    const run = makeRun({ worker: 2, pid: 99 })
    expect(run.processNumber).toBeNull()
    expect(run.prefix).toMatch(new RegExp(`^${run.runTag}-w2p99x[0-9a-z]{6}-$`))
  })

  it('prefixes of numbers never start one another (1 vs 10, 1 vs s1n1)', () => {
    const tag = createRunTag()
    const prefixes = [1, 10, 11, 100].map((n) => makeRun({ runTag: tag, processNumber: n }).prefix)
    prefixes.push(makeRun({ runTag: tag, processNumber: 1, shard: 1 }).prefix)
    for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(a.startsWith(b)).toBe(false)
  })
})

describe('handles (20 characters for short columns)', () => {
  it('are the run tag and fixed-width base36 process, scope and counter; they decode back', () => {
    const run = makeRun({ processNumber: 37 })
    const t = run.scope('a')
    const [h0, h1] = [t.handle(), t.handle()]
    expect(h0).toBe(`${run.runTag}110100`)
    expect(h1).toBe(`${run.runTag}110101`)
    expect(h0).toMatch(/^[0-9a-z]{20}$/)
    expect(decodeHandle(h1)).toEqual({
      handle: h1,
      runTag: run.runTag,
      time: run.startedAt,
      process: 37,
      scope: 1,
      seq: 1,
    })
    expect(decodeHandle(`${h0}x`)).toBeNull()
    expect(decodeHandle(h0.toUpperCase())).toBeNull()
    expect(t.handedOut).toBe(2)
  })

  it('differ between processes, scopes and calls', () => {
    const tag = createRunTag()
    const seen = new Set<string>()
    for (const n of [1, 2, 36]) {
      const run = makeRun({ runTag: tag, processNumber: n })
      for (let s = 0; s < 3; s++) {
        const scope = run.scope(`t${s}`)
        for (let i = 0; i < 40; i++) seen.add(scope.handle())
      }
      seen.add(run.handle())
    }
    expect(seen.size).toBe(3 * (3 * 40 + 1))
  })

  it('need a process number: HANDLE_UNAVAILABLE without one, HANDLE_RANGE past 1295', () => {
    const err = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        return isLeaklessError(error) ? error.code : error
      }
      return 'no error'
    }
    expect(err(() => makeRun().scope('x').handle())).toBe('HANDLE_UNAVAILABLE')
    expect(err(() => makeRun({ processNumber: 1296 }).scope('x').handle())).toBe('HANDLE_RANGE')
    const run = makeRun({ processNumber: 1 })
    const t = run.scope('x')
    for (let i = 0; i < 1296; i++) t.handle()
    expect(err(() => t.handle())).toBe('HANDLE_RANGE')
  })
})
