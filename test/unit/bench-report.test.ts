import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { meets, passes } from '../../bench/lib/measure.js'
import { loadReportInput, type ReportInput } from '../../bench/report/load.js'
import { renderMarkdown, renderReadmeSection } from '../../bench/report/markdown.js'
import { END, generateBlock, readmeBlock, replaceBlock, START } from '../../bench/report/readme.js'
import { fixtureResults, writeFixtureResults } from '../support/bench-results.js'
import { memoryTempDir } from '../support/temp-dir.js'

const root = resolve(import.meta.dirname, '../..')
const readmePath = join(root, 'README.md')

describe('benchmark results: pass comes from the measured ratios', () => {
  it('meets a target on its side of the bound only, and never with a missing or NaN ratio', () => {
    expect(meets(0.8, '<= 0.8')).toBe(true)
    expect(meets(0.81, '<= 0.8')).toBe(false)
    expect(meets(4, '>= 4')).toBe(true)
    expect(meets(3.99, '>= 4')).toBe(false)
    expect(meets(NaN, '<= 1.3')).toBe(false)
    expect(() => meets(1, '< 1')).toThrow(/unknown target/)
    expect(passes({ a: 1, b: 9 }, { a: '<= 1.3' })).toBe(true) // b is reported only
    expect(passes({ a: 1 }, { a: '<= 1.3', b: '<= 1' })).toBe(false) // b was not measured
    expect(passes({}, {})).toBe(true)
  })
})

describe('the report from JSON files', () => {
  it('reads the results in run order and the run timing, and marks each ratio pass, missed or reported', () => {
    const dir = memoryTempDir('leakless-bench-report-')
    writeFixtureResults(dir)
    const input = loadReportInput(dir)
    expect(input.results.map((r) => r.name)).toEqual(['ids', 'audit', 'embedded', 'isolation'])
    expect(input.run?.totalSeconds).toBe(300)
    const md = renderMarkdown(input)
    expect(md).toContain('| `ids` | scope.id() ids/s vs crypto.randomUUID() | 5.25× | ≥ 4× | pass |')
    expect(md).toContain(
      '| `audit` | audit({ runTag, ledger }) vs the raw indexed prefix query | 9.4× | ≤ 1.3× | **missed** |',
    )
    expect(md).toContain('| `embedded` | coldSeconds | 1.2 s | ≤ 3 s | pass |')
    expect(md).toContain('| `isolation` | worker.schemaVsShared | 2.75× | reported |  |')
    expect(md).toContain(
      '- `audit`, audit({ runTag, ledger }), prefix indexes: 3 ms at 105 rows → 7.5 ms at 1,000,105 rows (2.5×).',
    )
    expect(md).toContain('took 5 min here')
  })

  it('refuses a JSON file that is not a result, naming it', () => {
    const dir = memoryTempDir('leakless-bench-report-')
    writeFixtureResults(dir)
    writeFixtureResults(dir, [{ ...fixtureResults[0]!, name: 'broken', ratios: undefined as never }])
    expect(() => loadReportInput(dir)).toThrow(/broken\.json is not a benchmark result/)
  })

  it('the README section quotes the issue benchmarks, names what missed and how cost grows', () => {
    const input: ReportInput = { results: fixtureResults, run: null }
    const section = renderReadmeSection(input)
    expect(section).not.toContain('`isolation`')
    expect(section).toContain('Targets missed: 1 in `audit` (the rows marked **missed**).')
    expect(section).toContain('the suite at 200 and 1 000 tests comes with `npm run bench -- suite`')
    expect(renderReadmeSection(input)).toBe(section) // deterministic
  })
})

describe("the README's Performance block", () => {
  const readme = readFileSync(readmePath, 'utf8')

  it('sits between its markers in the Performance section', () => {
    const section = readme.slice(readme.indexOf('\n## Performance\n'))
    expect(readme).toContain('\n## Performance\n')
    expect(section.indexOf(START)).toBeGreaterThan(0)
    expect(section.indexOf(END)).toBeGreaterThan(section.indexOf(START))
    expect(section.indexOf(END)).toBeLessThan(section.indexOf('\n## ', 1))
  })

  it('is what `npm run bench -- readme` generates from the committed bench/snapshot.json', async () => {
    const snapshot = JSON.parse(readFileSync(join(root, 'bench', 'snapshot.json'), 'utf8')) as ReportInput
    const block = await generateBlock(snapshot, readmePath)
    expect(readmeBlock(readme)).toBe(block)
    expect(replaceBlock(readme, block)).toBe(readme)
  })

  it('replacing the block leaves the rest of the README alone, and a README without markers is refused', async () => {
    const block = await generateBlock({ results: fixtureResults, run: null }, readmePath)
    const replaced = replaceBlock(readme, block)
    expect(readmeBlock(replaced)).toBe(block)
    expect(replaced.slice(0, replaced.indexOf(START))).toBe(readme.slice(0, readme.indexOf(START)))
    expect(replaced.slice(replaced.indexOf(END))).toBe(readme.slice(readme.indexOf(END)))
    expect(() => readmeBlock('# no markers\n')).toThrow(/has no <!-- bench:start --> … <!-- bench:end --> block/)
  })
})
