import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const pages = [
  'README.md',
  'examples/README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
]

/** Markdown outside fenced code blocks. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '')
}

/** GitHub's anchors for a page's headings. */
function anchors(text: string): Set<string> {
  return new Set(
    [...prose(text).matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replaceAll(' ', '-'),
    ),
  )
}

describe('README and docs/ links', () => {
  it('every relative link names a file that exists, and an anchor of it that exists', () => {
    const broken: string[] = []
    let checked = 0
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8')
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue
        checked++
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const file = path === '' ? join(root, page) : resolve(root, dirname(page), path)
        if (!existsSync(file)) broken.push(`${page}: ${target} (no ${relative(root, file)})`)
        else if (anchor !== undefined && !anchors(readFileSync(file, 'utf8')).has(anchor))
          broken.push(`${page}: ${target} (no heading "#${anchor}")`)
      }
    }
    expect(broken).toEqual([])
    expect(checked).toBeGreaterThan(20)
  })

  it('the README links every page of docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const unlinked = pages.filter((page) => page.startsWith('docs/') && !readme.includes(`](${page}`))
    expect(unlinked).toEqual([])
  })
})
