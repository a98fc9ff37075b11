import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync } from '../../src/run/index.js'
import { createRunTag, normaliseDomain, normaliseLabel, normaliseSlugLabel } from '../../src/ids/index.js'
import { defineFactory, isLeaklessError, LeaklessError } from '../../src/index.js'
import * as schema from '../../factories/schema.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-unit-'))

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(isLeaklessError(error)).toBe(true)
    return (error as LeaklessError).code
  }
  return undefined
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

describe('labels', () => {
  it('fold case, accents and separators to [a-z0-9]', () => {
    expect(normaliseLabel('Parent')).toBe('parent')
    expect(normaliseLabel('Über Admin_2')).toBe('uberadmin2')
    expect(normaliseLabel('a.b-c d')).toBe('abcd')
    expect(normaliseSlugLabel('  My First Post! ')).toBe('my-first-post')
    expect(normaliseSlugLabel('Crème brûlée')).toBe('creme-brulee')
  })

  it('reject labels that fold to nothing or to other characters', () => {
    for (const label of ['', '   ', '_-.', 'a@b', 'x%y', 'emoji🙂', 'straße', "o'neil"]) {
      expect(
        codeOf(() => normaliseLabel(label)),
        label,
      ).toBe('LABEL_INVALID')
    }
    expect(codeOf(() => normaliseSlugLabel('!!!'))).toBe('LABEL_INVALID')
    expect(codeOf(() => normaliseLabel(undefined as unknown as string))).toBe('LABEL_INVALID')
    expect(codeOf(() => normaliseLabel('a'.repeat(33)))).toBe('LABEL_TOO_LONG')
  })

  it('keep ids and e-mail local parts within 64 characters', () => {
    const t = createRunSync({
      stateDir,
      env: {},
      runTag: createRunTag(),
      worker: 123456,
      shard: 9999,
      pid: 4194304,
    }).scope('long')
    const room = 64 - t.id().length - 1
    expect(t.id('a'.repeat(room)).length).toBe(64)
    expect(t.email('b'.repeat(room)).split('@')[0]).toHaveLength(64)
    expect(codeOf(() => t.id('c'.repeat(room + 1)))).toBe('LABEL_TOO_LONG')
  })

  it('check e-mail domains', () => {
    expect(normaliseDomain('Example.TEST')).toBe('example.test')
    for (const d of ['', 'localhost', 'a..b', '-a.test', 'a_b.test', 'ex ample.test', 'a.test.']) {
      expect(
        codeOf(() => normaliseDomain(d)),
        d,
      ).toBe('DOMAIN_INVALID')
    }
  })

  it('answer a label or domain that cannot become a string with an InputError, not a TypeError', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const odd: unknown[] = [
      Object.create(null),
      {
        toString() {
          throw new Error('no string')
        },
        toJSON() {
          throw new Error('no JSON')
        },
      },
      Symbol('label'),
      10n,
      circular,
      () => 'label',
      revokedProxy(),
    ]
    const t = createRunSync({ stateDir, env: {}, runTag: createRunTag() }).scope('odd labels')
    for (const value of odd) {
      const label = value as string
      expect(codeOf(() => t.id(label))).toBe('LABEL_INVALID')
      expect(codeOf(() => t.email(label))).toBe('LABEL_INVALID')
      expect(codeOf(() => t.slug(label))).toBe('LABEL_INVALID')
      expect(codeOf(() => t.email('parent', label))).toBe('DOMAIN_INVALID')
      for (const kind of ['id', 'email', 'slug'] as const) {
        expect(codeOf(() => t.issueForFactory(kind, label))).toBe('LABEL_INVALID')
      }
    }
    // f.id(), f.email() and f.slug() in a factory's defaults go through the same check
    for (const kind of ['id', 'email', 'slug'] as const) {
      const factory = defineFactory(schema.users, (f) => ({ id: f[kind](odd[0] as string), email: 'e', name: 'n' }))
      expect(codeOf(() => factory.bindTo(t).build())).toBe('LABEL_INVALID')
    }
  })

  it('errors carry a stable code, a name and a message that says what to do', () => {
    try {
      normaliseLabel('a@b')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(LeaklessError)
      expect((error as Error).name).toBe('InputError')
      expect((error as Error).message).toMatch(/Invalid id label "a@b".*Use a short word/)
    }
  })
})
