import { afterAll, describe, expect, it, vi } from 'vitest'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { format } from 'node:util'
import { connect } from '../../src/db/index.js'
import { resolveRunTag } from '../../src/run/index.js'
import { deleteByPrefix } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')
// The README and the reference it links to: every untitled ```ts block runs.
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
]
const blocks = pages.flatMap((page) =>
  [...readFileSync(join(root, page), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
    name: `${page} example ${i + 1}`,
    file: `${page.replaceAll('/', '-').replace(/\.md$/, '')}-${i + 1}.ts`,
    code: m[1]!,
  })),
)
const cache = join(root, 'node_modules/.cache/leakless-readme')

describe('README and docs/', () => {
  afterAll(async () => {
    // The examples create rows under this process's run tag; remove them.
    const db = await connect()
    await deleteByPrefix(db, `${resolveRunTag()}-`)
    await db.close()
  })

  it('has TypeScript examples, and no ```ts block escapes them', () => {
    expect(blocks.length).toBeGreaterThan(1)
    // A ```ts block is either run here or a titled project file (test/adapters/readme.test.ts runs those).
    const openings = pages.flatMap((page) =>
      [...readFileSync(join(root, page), 'utf8').matchAll(/^```ts\b.*$/gm)].map((m) => `${page}: ${m[0]}`),
    )
    expect(openings.filter((line) => !/: ```ts( title=\S+)?$/.test(line))).toEqual([])
  })

  blocks.forEach(({ name, file: fileName, code }) => {
    it(`${name} runs and prints what its comments say`, async () => {
      // Lines `console.log(…) // expected` must print exactly `expected`.
      const expected = code
        .split('\n')
        .filter((line) => line.startsWith('console.log('))
        .map((line) => line.split(' // ')[1]?.trim())
      mkdirSync(cache, { recursive: true })
      const file = join(cache, fileName)
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
