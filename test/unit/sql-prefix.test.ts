import { describe, expect, it } from 'vitest'
import { assertOwnedPrefix, createRunTag, escapeLike, likePrefix } from '../../src/ids/index.js'
import type { LeaklessError } from '../../src/index.js'

/** A reference LIKE matcher with ESCAPE '\' semantics, to check patterns without a database. */
function like(value: string, pattern: string): boolean {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '\\') re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '%') re += '[\\s\\S]*'
    else if (c === '_') re += '[\\s\\S]'
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`${re}$`).test(value)
}

describe('likePrefix', () => {
  it('escapes backslash, percent and underscore', () => {
    expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d')
    expect(likePrefix('50%_off\\')).toBe('50\\%\\_off\\\\%')
  })

  it('matches exactly the values that start with the prefix', () => {
    const prefix = 'a_b%c\\'
    const pattern = likePrefix(prefix)
    expect(like('a_b%c\\', pattern)).toBe(true)
    expect(like('a_b%c\\ and more', pattern)).toBe(true)
    expect(like('axb%c\\', pattern)).toBe(false)
    expect(like('a_bzc\\', pattern)).toBe(false)
    expect(like('a_b%c', pattern)).toBe(false)
    expect(like('xa_b%c\\', pattern)).toBe(false)
  })
})

describe('assertOwnedPrefix', () => {
  it('accepts run, process and scope prefixes', () => {
    const tag = createRunTag()
    for (const p of [`${tag}-`, `${tag}-w1p2xabcdef-`, `${tag}-w1p2xabcdef-3-`]) expect(assertOwnedPrefix(p)).toBe(p)
  })

  it('rejects anything shorter than a run tag or not ending at a field boundary', () => {
    const tag = createRunTag()
    for (const p of [
      '',
      '%',
      'a-',
      tag,
      `${tag.slice(0, 13)}-`,
      `${tag}-w1`,
      `${tag}-%-`,
      `${tag}-_-`,
      `${tag.toUpperCase()}-`,
    ]) {
      try {
        assertOwnedPrefix(p)
        expect.unreachable(p)
      } catch (error) {
        expect((error as LeaklessError).code, p).toBe('PREFIX_INVALID')
      }
    }
  })
})
