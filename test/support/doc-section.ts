import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

/** The ```ts title=<path> blocks of one section of a page (from its heading to the next of its level or higher), by path. */
export function sectionFiles(page: string, heading: string): Record<string, string> {
  const text = `\n${readFileSync(join(root, page), 'utf8')}`
  const start = text.indexOf(`\n${heading}\n`)
  if (start === -1) throw new Error(`${page} has no section "${heading}"`)
  const level = heading.indexOf(' ')
  const rest = text.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`\\n#{1,${level}} `))
  const body = end === -1 ? rest : rest.slice(0, end)
  return Object.fromEntries([...body.matchAll(/```ts title=(\S+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]))
}
