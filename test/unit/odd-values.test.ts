import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkConfig } from '../../src/config/index.js'
import { describeValue } from '../../src/describe-value.js'
import { createRunSync } from '../../src/run/index.js'
import { assertOwnedPrefix, audit, createRunTag, isLeaklessError, parseRunTag, sweep } from '../../src/index.js'
import type { Database } from '../../src/db/index.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-odd-'))

/** Values that break `String(v)`, `${v}`, `JSON.stringify(v)` or a RegExp test. */
function oddValues(): unknown[] {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  return [
    Object.create(null),
    Symbol('odd'),
    12n,
    circular,
    {
      toString() {
        throw new Error('no string')
      },
      toJSON() {
        throw new Error('no JSON')
      },
    },
  ]
}

// Options are checked before the database is used: a database that fails every call proves it.
const noDatabase = new Proxy({} as Database, {
  get() {
    throw new Error('the database was used')
  },
})

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (error) {
    if (isLeaklessError(error)) return error.code
    throw error
  }
  throw new Error('expected a LeaklessError')
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

describe('API options that cannot become a string', () => {
  it('describeValue never throws', () => {
    for (const value of [...oddValues(), revokedProxy(), 'a'.repeat(500), undefined, null, () => 1, [1, 2]]) {
      expect(typeof describeValue(value)).toBe('string')
    }
    expect(describeValue('a'.repeat(500)).length).toBeLessThanOrEqual(120)
    expect(describeValue(Object.create(null))).toBe('{}')
    expect(describeValue(12n)).toBe('12n')
  })

  it('createRun, run tags, prefixes and scope names give a LeaklessError with a code', async () => {
    const run = createRunSync({ stateDir, env: {}, runTag: createRunTag() })
    for (const value of oddValues()) {
      const v = value as never
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, runTag: v }))).toBe('RUN_TAG_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: { LEAKLESS_RUN: v } }))).toBe('RUN_TAG_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, worker: v }))).toBe('WORKER_INDEX_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, shard: v }))).toBe('SHARD_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, pid: v }))).toBe('PID_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, seed: v }))).toBe('SEED_INVALID')
      expect(await codeOf(() => createRunSync({ stateDir, env: {}, emailDomain: v }))).toBe('DOMAIN_INVALID')
      expect(await codeOf(() => parseRunTag(v))).toBe('RUN_TAG_INVALID')
      expect(await codeOf(() => assertOwnedPrefix(v))).toBe('PREFIX_INVALID')
      expect(await codeOf(() => run.scope(v))).toBe('OPTION_INVALID')
    }
  })

  it('config, sweep and audit options give a LeaklessError with a code, before the database is used', async () => {
    for (const value of oddValues()) {
      const v = value as never
      expect(await codeOf(() => checkConfig({ schemas: v }, null))).toBe('CONFIG_INVALID')
      expect(await codeOf(() => checkConfig({ emailDomain: v }, null))).toBe('CONFIG_INVALID')
      expect(await codeOf(() => sweep({ db: noDatabase, olderThanMs: v }))).toBe('OPTION_INVALID')
      expect(await codeOf(() => sweep({ db: noDatabase, runTag: v }))).toBe('RUN_TAG_INVALID')
      expect(await codeOf(() => sweep({ db: noDatabase, shard: v }))).toBe('OPTION_INVALID')
      expect(await codeOf(() => sweep({ db: noDatabase, schemas: v }))).toBe('OPTION_INVALID')
      expect(await codeOf(() => sweep({ db: noDatabase, now: v }))).toBe('OPTION_INVALID')
      expect(await codeOf(() => audit({ db: noDatabase, prefix: v }))).toBe('PREFIX_INVALID')
      expect(await codeOf(() => audit({ db: noDatabase, runTag: v }))).toBe('PREFIX_INVALID')
      expect(await codeOf(() => audit({ db: noDatabase, prefix: `${createRunTag()}-`, runTag: v }))).toBe(
        'PREFIX_INVALID',
      )
    }
    // sweep's shard and schemas were not checked at all: a string became a list of one-letter schemas
    expect(await codeOf(() => sweep({ db: noDatabase, schemas: 'public' as never }))).toBe('OPTION_INVALID')
    expect(await codeOf(() => sweep({ db: noDatabase, schemas: [] }))).toBe('OPTION_INVALID')
    expect(await codeOf(() => sweep({ db: noDatabase, shard: 0 }))).toBe('OPTION_INVALID')
    expect(await codeOf(() => sweep({ db: noDatabase, now: new Date(NaN) }))).toBe('OPTION_INVALID')
  })
})
