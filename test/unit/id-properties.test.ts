import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync } from '../../src/run/index.js'
import { createRunTag, encodeSeq } from '../../src/ids/index.js'
import { decodeId } from '../../src/index.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-prop-'))
const OUTPUT = /^[0-9a-z][0-9a-z.-]*(@[0-9a-z.-]+)?$/

const processArb = fc.record({
  worker: fc.nat({ max: 999_999 }),
  shard: fc.option(fc.integer({ min: 1, max: 9999 }), { nil: null }),
  pid: fc.integer({ min: 1, max: 4_194_304 }),
})
const kindArb = fc.constantFrom('id', 'idLabel', 'email', 'slug')
/** Per scope: how many values to issue and of which kinds. */
const scopesArb = fc.array(fc.array(kindArb, { maxLength: 40 }), { minLength: 1, maxLength: 12 })

describe('ids (properties)', () => {
  it('any sequence of scopes and values decodes back to who issued it, in issue order', () => {
    fc.assert(
      fc.property(processArb, scopesArb, (proc, scopes) => {
        const run = createRunSync({ stateDir, env: {}, runTag: createRunTag(), ...proc })
        const seen = new Set<string>()
        scopes.forEach((kinds, s) => {
          const scope = run.scope(`s${s}`)
          const values = kinds.map((kind) =>
            kind === 'id'
              ? scope.id()
              : kind === 'idLabel'
                ? scope.id('Label')
                : kind === 'email'
                  ? scope.email('user')
                  : scope.slug('A post'),
          )
          values.forEach((value, seq) => {
            expect(value).toMatch(OUTPUT)
            expect(value.split('@')[0]!.length).toBeLessThanOrEqual(64)
            const d = decodeId(value)!
            expect(d).not.toBeNull()
            expect([d.runTag, d.worker, d.shard, d.pid, d.scope, d.seq]).toEqual([
              run.runTag,
              proc.worker,
              proc.shard,
              proc.pid,
              s + 1,
              seq,
            ])
            expect(seen.has(d.id)).toBe(false)
            seen.add(d.id)
          })
          const ids = values.map((v) => decodeId(v)!.id)
          expect([...ids].sort()).toEqual(ids)
        })
      }),
      { numRuns: 200 },
    )
  })

  it('the sequence encoding is order-preserving and injective', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        const [ea, eb] = [encodeSeq(a), encodeSeq(b)]
        expect(ea < eb).toBe(a < b)
        expect(ea === eb).toBe(a === b)
      }),
      { numRuns: 2000 },
    )
  })

  it('decodeId never throws and only accepts values that start with a well-formed id', () => {
    const run = createRunSync({ stateDir, env: {}, runTag: createRunTag() })
    const id = run.scope('fuzz').id()
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 10 }), (junk, tail) => {
        const d = decodeId(junk)
        if (d !== null) expect(junk.startsWith(d.id)).toBe(true)
        const withTail = decodeId(id + tail)
        expect(withTail === null || withTail.id === id).toBe(true)
        if (tail === '' || /^[^0-9a-z]/.test(tail)) expect(withTail?.id).toBe(id)
      }),
      { numRuns: 2000 },
    )
  })
})
