import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const errors = readFileSync(resolve(root, 'src/errors.ts'), 'utf8')
// The README links the error reference; the table lives in docs/errors.md.
const page = readFileSync(resolve(root, 'docs/errors.md'), 'utf8')

describe('docs/errors.md', () => {
  it('lists every error code of LeaklessErrorCode', () => {
    const union = errors.slice(errors.indexOf('export type LeaklessErrorCode'), errors.indexOf('export interface'))
    const codes = [...union.matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1]!)
    expect(codes.length).toBeGreaterThan(30)
    expect(page.startsWith('# Errors\n')).toBe(true)
    expect(codes.filter((code) => !page.includes(`\`${code}\``))).toEqual([])
  })

  it('is linked from the README', () => {
    expect(readFileSync(resolve(root, 'README.md'), 'utf8')).toContain('](docs/errors.md)')
  })
})
