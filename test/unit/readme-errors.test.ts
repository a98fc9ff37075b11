import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const errors = readFileSync(resolve(root, 'src/errors.ts'), 'utf8')
const readme = readFileSync(resolve(root, 'README.md'), 'utf8')

describe('README "Errors"', () => {
  it('lists every error code of LeaklessErrorCode', () => {
    const union = errors.slice(errors.indexOf('export type LeaklessErrorCode'), errors.indexOf('export interface'))
    const codes = [...union.matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1]!)
    expect(codes.length).toBeGreaterThan(30)
    const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Development'))
    expect(codes.filter((code) => !section.includes(`\`${code}\``))).toEqual([])
  })
})
