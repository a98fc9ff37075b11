import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync, type CreateRunOptions } from '../../src/run/index.js'
import { decodeId, isTestValue, MAX_ID_LENGTH } from '../../src/index.js'
import { createRunTag, encodeSeq } from '../../src/ids/index.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-unit-'))
const OUTPUT = /^[0-9a-z][0-9a-z.-]*(@[0-9a-z.-]+)?$/
const makeRun = (options: CreateRunOptions = {}) =>
  createRunSync({ stateDir, env: {}, runTag: createRunTag(), ...options })

describe('run tag', () => {
  it('is 8 base36 characters of ms time and 6 random ones', () => {
    const now = Date.UTC(2026, 10, 20, 12, 0, 0, 123)
    const tag = createRunTag(now)
    expect(tag).toMatch(/^[0-9a-z]{14}$/)
    expect(parseInt(tag.slice(0, 8), 36)).toBe(now)
    expect(createRunTag(now).slice(8)).not.toBe(tag.slice(8))
  })
})

describe('ids', () => {
  it('have the documented shape and decode back', () => {
    const run = makeRun({ worker: 3, pid: 4242, shard: 2 })
    const t = run.scope('books a lesson')
    const id = t.id()
    expect(id).toMatch(new RegExp(`^${run.runTag}-s2w3p4242x[0-9a-z]{6}-1-10$`))
    expect(id.length).toBeLessThanOrEqual(MAX_ID_LENGTH)
    expect(decodeId(id)).toEqual({
      id,
      runTag: run.runTag,
      time: run.startedAt,
      shard: 2,
      process: null,
      worker: 3,
      pid: 4242,
      reuse: 0,
      nonce: run.nonce,
      scope: 1,
      seq: 0,
      runPrefix: `${run.runTag}-`,
      processPrefix: run.prefix,
      scopePrefix: t.prefix,
    })
  })

  it('put the tag first in e-mails and slugs and decode from them', () => {
    const t = makeRun({ worker: 1 }).scope('x')
    const email = t.email('Parent')
    const slug = t.slug('My First Post!')
    expect(email).toMatch(/^[0-9a-z-]+-10\.parent@example\.test$/)
    expect(slug).toMatch(/^[0-9a-z-]+-11\.my-first-post$/)
    expect(t.email(undefined, 'School.TEST')).toMatch(/-12@school\.test$/)
    for (const v of [email, slug, t.id('user')]) {
      expect(v).toMatch(OUTPUT)
      expect(v.startsWith(t.prefix)).toBe(true)
      expect(decodeId(v)?.scopePrefix).toBe(t.prefix)
    }
    expect(decodeId(email)?.seq).toBe(0)
  })

  it('encode the sequence length-prefixed so it sorts in issue order', () => {
    expect([0, 35, 36, 1295, 1296].map(encodeSeq)).toEqual(['10', '1z', '210', '2zz', '3100'])
    const t = makeRun().scope('sort')
    const ids = Array.from({ length: 3000 }, () => t.id())
    expect([...ids].sort()).toEqual(ids)
    expect(ids.map((v) => decodeId(v)?.seq)).toEqual(ids.map((_, i) => i))
    expect(t.issued).toBe(3000)
  })

  it('number scopes from 1 and keep scope 0 for ids outside tests', () => {
    const run = makeRun()
    expect(decodeId(run.id())?.scope).toBe(0)
    expect(run.scope('a').number).toBe(1)
    const b = run.scope('b')
    expect(b.prefix).toBe(`${run.prefix}2-`)
    expect(run.scopes).toBe(2)
  })

  it('decodeId returns null for anything that is not an id', () => {
    const id = makeRun().scope('z').id()
    const bad = [
      '',
      'test@example.com',
      id.toUpperCase(),
      id.slice(0, -1),
      `${id}0`,
      id.replace('-1-', '-01-'),
      id.replace(/x[0-9a-z]{6}-/, 'x12345-'),
      id.replace(/-10$/, '-20'),
      id.replace(/-10$/, '-200'),
      `x${id}`,
      '550e8400-e29b-41d4-a716-446655440000',
    ]
    for (const value of bad) expect(decodeId(value), value).toBeNull()
    // found by test/reliability/bad-input.test.ts: parseInt read an upper-case length digit ("A" = 10), and
    // a sequence past 2^53 decoded to a neighbouring number, so the "id" was not what leakless writes
    const scope = decodeId(id)!.scopePrefix
    expect(decodeId(`${scope}A1000000000`)).toBeNull()
    expect(decodeId(`${scope}a1000000000`)?.seq).toBe(parseInt('1000000000', 36))
    expect(decodeId(`${scope}cb10000000001`)).toBeNull()
    expect(decodeId(`${scope}b${(2 ** 53 - 1).toString(36)}`)?.seq).toBe(2 ** 53 - 1)
    for (const value of [Symbol('id'), Object.create(null), 7, null]) expect(decodeId(value as string)).toBeNull()
    expect(isTestValue(id)).toBe(true)
    expect(isTestValue(42)).toBe(false)
  })
})

describe('prefixes', () => {
  it('end at a field boundary, so worker 1 never prefixes worker 10', () => {
    const tag = createRunTag()
    const w1 = makeRun({ runTag: tag, worker: 1, pid: 7 })
    const w10 = makeRun({ runTag: tag, worker: 10, pid: 7 })
    expect(w1.prefix.endsWith('-')).toBe(true)
    expect(w10.scope('a').id().startsWith(w1.prefix)).toBe(false)
    expect(w1.scope('a').id().startsWith(w10.prefix)).toBe(false)
    const run = makeRun({ runTag: tag, worker: 1, pid: 8 })
    const s1 = run.scope('one')
    for (let i = 2; i < 36; i++) run.scope('filler')
    const s36 = run.scope('thirty-six')
    expect(s36.prefix).toBe(`${run.prefix}10-`)
    expect(s36.id().startsWith(s1.prefix)).toBe(false)
    expect(w1.runPrefix).toBe(`${tag}-`)
    expect(w10.prefix.startsWith(w1.runPrefix)).toBe(true)
  })
})
