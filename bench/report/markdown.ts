/** The report's Markdown: the table of every ratio (report.md) and the README's "Performance" section. */
import type { BenchResult } from '../lib/measure.js'
import { day, labelOf, num, orderedRatios, ratioText, targetText, verdict } from './format.js'
import type { ReportInput } from './load.js'

/** The benchmarks the README quotes (the others are in report.md). */
export const README_BENCHMARKS = ['ids', 'create', 'cleanup', 'per-test', 'audit', 'suite', 'embedded']

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
const VERDICT = { pass: 'pass', missed: '**missed**', reported: '' }

/** One row per ratio: benchmark, what it compares, measured, target, verdict. */
export function ratioTable(results: BenchResult[]): string {
  const lines = ['| benchmark | compares | measured | target | |', '| --- | --- | --: | --- | --- |']
  for (const result of results) {
    for (const key of orderedRatios(result)) {
      lines.push(
        `| \`${cell(result.name)}\` | ${cell(labelOf(result, key))} | ${ratioText(key, result.ratios[key]!)} | ${targetText(key, result.targets[key])} | ${VERDICT[verdict(result, key)]} |`,
      )
    }
  }
  return lines.join('\n')
}

/** "How cost grows": each scaling series of the results, smallest size first. */
export function growthLines(results: BenchResult[]): string[] {
  const lines: string[] = []
  for (const result of results) {
    for (const s of result.scaling ?? []) {
      const points = s.points.map((p) => `${num(p.value)} ${s.unit} at ${p.size}`).join(' → ')
      const first = s.points[0]?.value
      const last = s.points.at(-1)?.value
      const factor = first && last && s.points.length > 1 ? ` (${num(last / first)}×)` : ''
      lines.push(`- \`${result.name}\`, ${s.what}: ${points}${factor}.`)
    }
  }
  return lines
}

function environmentLine(input: ReportInput): string {
  const first = input.results[0]
  if (first === undefined) return 'No benchmark has run yet: `npm run bench`.'
  const servers = [...new Set(input.results.map((r) => r.config.server).filter((s) => typeof s === 'string'))]
  const dates = [...new Set(input.results.map((r) => day(r.environment?.date)))].sort()
  const when = dates.length > 1 ? `${dates[0]} to ${dates.at(-1)}` : dates[0]
  return `Measured ${when} with node ${first.environment.node} on ${first.environment.cpus} CPUs (${first.environment.platform})${servers.length ? `, ${servers.join(' / ')}` : ''}.`
}

function totalLine(input: ReportInput): string[] {
  if (input.run === null) return []
  const slowest = Object.entries(input.run.benchmarks).sort((a, b) => b[1].seconds - a[1].seconds)[0]
  return [
    `The whole \`npm run bench\` took ${num(input.run.totalSeconds / 60)} min here${slowest ? ` (the longest, \`${slowest[0]}\`, ${num(slowest[1].seconds)} s)` : ''}.`,
  ]
}

/** report.md: every benchmark's ratios, how cost grows, and the run's time. */
export function renderMarkdown(input: ReportInput): string {
  const growth = growthLines(input.results)
  return [
    '# Benchmarks',
    '',
    environmentLine(input),
    '',
    ratioTable(input.results),
    '',
    ...(growth.length ? ['## How cost grows', '', ...growth, ''] : []),
    ...totalLine(input),
    '',
  ].join('\n')
}

/** The README's "Performance" section body, between its markers (formatted by prettier where written). */
export function renderReadmeSection(input: ReportInput): string {
  const results = input.results.filter((r) => README_BENCHMARKS.includes(r.name))
  const growth = growthLines(results)
  const missed = results.flatMap((r) => {
    const n = orderedRatios(r).filter((k) => verdict(r, k) === 'missed').length
    return n === 0 ? [] : [`${n} in \`${r.name}\``]
  })
  const suite = results.some((r) => r.name === 'suite')
  return [
    `${environmentLine({ ...input, results })} Each ratio comes from one run with its contenders interleaved round by round, medians of several rounds after a warm-up; the machine was shared with other work, so absolute times move between runs while the ratios hold better. \`npm run bench -- <name>\` runs one benchmark and writes \`bench/results/<name>.json\`; \`npm run bench -- report\` draws them all in \`bench/results/report.html\` ([Benchmarks](docs/benchmarks.md) says what each measures).`,
    '',
    'A ratio divides what leakless takes by what the alternative takes (below 1: leakless is faster), except `ids`, which divides rates (above 1: faster), and `embedded`, which gives seconds.',
    '',
    ratioTable(results),
    '',
    missed.length ? `Targets missed: ${missed.join(', ')} (the rows marked **missed**).` : 'Every target is met.',
    '',
    '**How cost grows** with the size of a table (the audit beside 1 000 000 rows of other people)' +
      (suite
        ? ' and of a suite (200 and 1 000 tests):'
        : ' — the suite at 200 and 1 000 tests comes with `npm run bench -- suite`:'),
    '',
    ...(growth.length ? growth : ['- nothing measured yet.']),
    ...(input.run ? ['', ...totalLine(input)] : []),
  ].join('\n')
}
