/**
 * `npm run bench -- report`: bench/results/report.html and report.md from the JSON files there.
 * `npm run bench -- readme`: the same, and the README's "Performance" block from them, with the
 * results it quotes kept in bench/snapshot.json (committed: a unit test checks the block against it);
 * without results, the block is generated again from that snapshot.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { RESULTS_DIR } from '../lib/measure.js'
import { renderHtml } from './html.js'
import { loadReportInput, type ReportInput } from './load.js'
import { renderMarkdown } from './markdown.js'
import { generateBlock, replaceBlock } from './readme.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const README = join(ROOT, 'README.md')
export const SNAPSHOT = join(ROOT, 'bench', 'snapshot.json')

/** Writes report.html and report.md into `dir` from its results; returns their paths. */
export function writeReport(dir = RESULTS_DIR): { html: string; markdown: string; input: ReportInput } {
  const input = loadReportInput(dir)
  const html = join(dir, 'report.html')
  const markdown = join(dir, 'report.md')
  writeFileSync(html, renderHtml(input))
  writeFileSync(markdown, renderMarkdown(input))
  console.log(`\nreport: ${html} and ${markdown} (${input.results.length} benchmarks)`)
  return { html, markdown, input }
}

/** The report, then the README's block and bench/snapshot.json from the same results. */
export async function writeReadme(dir = RESULTS_DIR): Promise<void> {
  let { input } = writeReport(dir)
  if (input.results.length === 0) {
    // No run here (a fresh clone, a merge): the block is drawn again from the figures it quoted.
    if (!existsSync(SNAPSHOT)) throw new Error(`No results in ${dir} and no ${SNAPSHOT}: run npm run bench first.`)
    input = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as ReportInput
    console.log(`readme: no results in ${dir}; the block is generated again from ${SNAPSHOT}`)
  }
  // As prettier writes JSON, so that `npm run lint` passes on the committed file.
  const options = (await resolveConfig(SNAPSHOT)) ?? {}
  writeFileSync(SNAPSHOT, await format(JSON.stringify(input), { ...options, parser: 'json' }))
  const readme = readFileSync(README, 'utf8')
  writeFileSync(README, replaceBlock(readme, await generateBlock(input, README)))
  console.log(`readme: the Performance block of ${README} and ${SNAPSHOT}`)
}
