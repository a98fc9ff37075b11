import { afterAll, describe, expect, it, vi } from 'vitest'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { format } from 'node:util'
import { connect } from '../../src/db/index.js'
import { resolveRunTag } from '../../src/run/index.js'
import { deleteByPrefix } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
const cache = join(root, 'node_modules/.cache/leakless-readme')

describe('README', () => {
  afterAll(async () => {
    // The examples create rows under this process's run tag; remove them.
    const db = await connect()
    await deleteByPrefix(db, `${resolveRunTag()}-`)
    await db.close()
  })

  it('has TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThan(1)
  })

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs and prints what its comments say`, async () => {
      // Lines `console.log(…) // expected` must print exactly `expected`.
      const expected = code
        .split('\n')
        .filter((line) => line.startsWith('console.log('))
        .map((line) => line.split(' // ')[1]?.trim())
      mkdirSync(cache, { recursive: true })
      const file = join(cache, `example-${i + 1}.ts`)
      // Examples import the repository's files as seen from its root.
      writeFileSync(file, code.replaceAll("from './", `from '${root}/`))
      const printed: string[] = []
      const spy = vi
        .spyOn(console, 'log')
        .mockImplementation((...args: unknown[]) => void printed.push(format(...args)))
      try {
        await import(file)
      } finally {
        spy.mockRestore()
      }
      expect(printed).toEqual(expected)
    })
  })
})
