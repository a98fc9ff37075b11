import { describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync, detectEnvironment, resolveRunTag } from '../../src/run/index.js'
import { createRunTag, parseRunTag } from '../../src/ids/index.js'
import { createRun, decodeId, type LeaklessError } from '../../src/index.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-unit-'))

function errorOf(fn: () => unknown): LeaklessError {
  try {
    fn()
  } catch (error) {
    return error as LeaklessError
  }
  throw new Error('expected a LeaklessError')
}

describe('detectEnvironment', () => {
  it('reads Playwright, Vitest and shard variables', () => {
    expect(detectEnvironment({ TEST_WORKER_INDEX: '7', LEAKLESS_SHARD: '2/3' })).toEqual({
      runner: 'playwright',
      worker: 7,
      shard: 2,
    })
    expect(detectEnvironment({ VITEST: 'true', VITEST_POOL_ID: '2', VITEST_WORKER_ID: '19' })).toEqual({
      runner: 'vitest',
      worker: 2,
      shard: null,
    })
    expect(detectEnvironment({ VITEST_WORKER_ID: '19' }).worker).toBe(19)
    expect(detectEnvironment({})).toEqual({ runner: 'none', worker: 0, shard: null })
    expect(detectEnvironment({ TEST_WORKER_INDEX: '', LEAKLESS_SHARD: '' })).toEqual({
      runner: 'none',
      worker: 0,
      shard: null,
    })
  })

  it('rejects negative, NaN and non-numeric worker indexes with a clear error', () => {
    for (const raw of ['-1', 'NaN', '1.5', ' ', 'two', '1e3']) {
      const error = errorOf(() => detectEnvironment({ TEST_WORKER_INDEX: raw }))
      expect(error.code, raw).toBe('WORKER_INDEX_INVALID')
      expect(error.message).toContain('TEST_WORKER_INDEX')
    }
    expect(errorOf(() => detectEnvironment({ VITEST_POOL_ID: '-3' })).message).toContain('VITEST_POOL_ID')
  })

  it('rejects malformed shards', () => {
    for (const raw of ['0', '3/2', 'a', '1/0', '-1']) {
      expect(errorOf(() => detectEnvironment({ LEAKLESS_SHARD: raw })).code, raw).toBe('SHARD_INVALID')
    }
  })
})

describe('run tag from LEAKLESS_RUN', () => {
  it('is used as given when valid', () => {
    const tag = createRunTag()
    expect(resolveRunTag({ LEAKLESS_RUN: tag })).toBe(tag)
    expect(createRunSync({ stateDir, env: { LEAKLESS_RUN: tag } }).runTag).toBe(tag)
  })

  it('is a clear error when malformed, never a silent new tag', () => {
    const tag = createRunTag()
    for (const bad of [
      'run1',
      tag.toUpperCase(),
      `${tag}x`,
      'zzzzzzzzzzzzzz',
      '00000000abcdef',
      `${tag.slice(0, 13)}_`,
    ]) {
      const error = errorOf(() => createRunSync({ stateDir, env: { LEAKLESS_RUN: bad } }))
      expect(error.code, bad).toBe('RUN_TAG_INVALID')
      expect(error.message).toContain('LEAKLESS_RUN')
      expect(error.name).toBe('ConfigError')
    }
    expect(errorOf(() => parseRunTag('nope', 'createRun({ runTag })')).message).toContain('createRun({ runTag })')
  })

  it('is one tag per process when unset, shared by every context', async () => {
    const a = await createRun({ stateDir, env: {} })
    const b = await createRun({ stateDir, env: {} })
    expect(a.runTag).toBe(b.runTag)
    expect(a.prefix).not.toBe(b.prefix)
  })
})

describe('createRun options', () => {
  it('override detection', () => {
    const run = createRunSync({
      stateDir,
      runTag: createRunTag(),
      env: { TEST_WORKER_INDEX: '4' },
      worker: 9,
      shard: 3,
      runner: 'none',
    })
    expect([run.runner, run.worker, run.shard]).toEqual(['none', 9, 3])
    expect(run.processField).toMatch(/^s3w9p\d+x[0-9a-z]{6}$/)
  })

  it('reject invalid numbers', () => {
    const runTag = createRunTag()
    expect(errorOf(() => createRunSync({ stateDir, runTag, worker: -1 })).code).toBe('WORKER_INDEX_INVALID')
    expect(errorOf(() => createRunSync({ stateDir, runTag, worker: Number.NaN })).code).toBe('WORKER_INDEX_INVALID')
    expect(errorOf(() => createRunSync({ stateDir, runTag, shard: 0 })).code).toBe('SHARD_INVALID')
    expect(errorOf(() => createRunSync({ stateDir, runTag, pid: 0 })).code).toBe('PID_INVALID')
    expect(errorOf(() => createRunSync({ stateDir, runTag, emailDomain: 'nope' })).code).toBe('DOMAIN_INVALID')
  })

  it('reports an unwritable state directory with a code and a fix', () => {
    const file = join(stateDir, 'a-file')
    writeFileSync(file, 'not a directory')
    const error = errorOf(() => createRunSync({ stateDir: join(file, 'state'), runTag: createRunTag() }))
    expect(error.code).toBe('STATE_DIR_UNWRITABLE')
    expect(error.message).toContain('LEAKLESS_STATE_DIR')
  })
})

describe('seeds', () => {
  it('come from LEAKLESS_SEED for every scope, else from the run tag and the scope name', () => {
    const runTag = createRunTag()
    const replay = createRunSync({ stateDir, runTag, env: { LEAKLESS_SEED: '123' } })
    expect([replay.scope('a').seed, replay.scope('b').seed]).toEqual([123, 123])
    const derived = createRunSync({ stateDir, runTag, env: {} })
    const other = createRunSync({ stateDir, runTag, env: {} })
    expect(derived.scope('a').seed).toBe(other.scope('a').seed)
    expect(derived.scope('a').seed).not.toBe(derived.scope('b').seed)
  })

  it('reject malformed seeds', () => {
    const runTag = createRunTag()
    for (const bad of ['abc', '-1', '1.5', '4294967296']) {
      expect(errorOf(() => createRunSync({ stateDir, runTag, env: { LEAKLESS_SEED: bad } })).code, bad).toBe(
        'SEED_INVALID',
      )
    }
    expect(errorOf(() => createRunSync({ stateDir, runTag, seed: -1 })).code).toBe('SEED_INVALID')
  })
})

describe('process claims', () => {
  it('work for a run that started more than a week ago (its fresh claim directory was pruned as old)', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'leakless-unit-'))
    const runTag = createRunTag(Date.now() - 8 * 24 * 60 * 60 * 1000)
    const run = createRunSync({ stateDir: fresh, runTag, env: {} })
    expect(run.prefix.startsWith(`${runTag}-`)).toBe(true)
    expect(readdirSync(join(fresh, 'runs'))).toEqual([runTag])
  })

  it('give a reused pid a new reuse number, so prefixes never repeat', () => {
    const runTag = createRunTag()
    const runs = Array.from({ length: 4 }, () => createRunSync({ stateDir, runTag, worker: 2, pid: 999, env: {} }))
    expect(runs.map((r) => r.reuse)).toEqual([0, 1, 2, 3])
    expect(new Set(runs.map((r) => r.prefix)).size).toBe(4)
    expect(runs.map((r) => decodeId(r.scope('t').id())?.reuse)).toEqual([0, 1, 2, 3])
    expect(readdirSync(join(stateDir, 'runs', runTag)).sort()).toEqual(['w2p999', 'w2p999r1', 'w2p999r2', 'w2p999r3'])
  })
})
