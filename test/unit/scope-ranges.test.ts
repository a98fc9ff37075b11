import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ScopeRanges } from '../../src/cleanup/scope-ranges.js'

describe('ScopeRanges', () => {
  it('holds scopes cleaned in order as one range, however many', () => {
    const set = new ScopeRanges()
    for (let n = 1; n <= 10_000; n++) set.add(n)
    expect(set.ranges).toBe(1)
    expect([0, 1, 5000, 10_000, 10_001].map((n) => set.has(n))).toEqual([false, true, true, true, false])
  })

  it('costs one range per scope never cleaned; out-of-order cleanups merge', () => {
    const set = new ScopeRanges()
    for (const n of [3, 1, 5, 4, 7, 9, 8]) set.add(n) // 2 and 6 never cleaned
    expect(set.ranges).toBe(3) // 1, 3–5, 7–9
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((n) => set.has(n))).toEqual([1, 3, 4, 5, 7, 8, 9])
    set.add(6)
    set.add(6)
    expect(set.ranges).toBe(2)
    set.add(2)
    set.add(0)
    expect(set.ranges).toBe(1)
  })

  it('agrees with a Set for any order of additions', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 60 }), { maxLength: 80 }), (added) => {
        const set = new ScopeRanges()
        for (const n of added) set.add(n)
        const expected = new Set(added)
        for (let n = 0; n <= 62; n++) if (set.has(n) !== expected.has(n)) return false
        const runs = [...expected].sort((a, b) => a - b).filter((n, i, all) => i === 0 || all[i - 1] !== n - 1)
        return set.ranges === runs.length
      }),
    )
  })
})
