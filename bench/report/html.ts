/** report.html: a page that needs no network, a section per benchmark with its charts drawn inline (SVG). */
import type { BenchResult } from '../lib/measure.js'
import { day, labelOf, num, orderedRatios, ratioText, targetText, targetValue, verdict } from './format.js'
import type { ReportInput } from './load.js'
import { renderMarkdown } from './markdown.js'
import { barChart, esc, growthChart, type Bar } from './svg.js'

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 980px; color: #1d2733; background: #fff; }
h1 { margin-bottom: 4px; } h2 { margin: 0; font-size: 20px; }
section.bench { border: 1px solid #d9e0e8; border-radius: 8px; padding: 16px 20px; margin: 20px 0; }
.head { display: flex; gap: 12px; align-items: baseline; }
.badge { padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.badge.pass { background: #2f9e5b; } .badge.missed { background: #d64545; } .badge.reported { background: #6b7c93; }
.meta { color: #5b6878; font-size: 12px; margin: 4px 0 10px; }
svg.chart { display: block; margin: 10px 0; max-width: 100%; height: auto; }
svg .title { font-weight: 600; font-size: 13px; fill: #1d2733; }
svg .label, svg .value, svg .point-label { font-size: 12px; fill: #1d2733; } svg .tick { font-size: 11px; fill: #6b7c93; }
svg .grid { stroke: #e6ebf0; } svg .reference { stroke: #1d2733; stroke-dasharray: 4 3; }
svg .target-line { stroke: #1d2733; stroke-width: 2; } svg .target { fill: #fff; stroke: #1d2733; stroke-width: 2; }
svg .growth-line { fill: none; stroke: #3a6ea5; stroke-width: 2; } svg .point { fill: #3a6ea5; }
table { border-collapse: collapse; font-size: 12px; } td, th { border-bottom: 1px solid #e6ebf0; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
`

function ratioChart(result: BenchResult): string {
  const keys = orderedRatios(result)
  if (keys.length === 0) return ''
  const seconds = keys.every((k) => /Seconds$/.test(k))
  const bars: Bar[] = keys.map((key) => ({
    label: labelOf(result, key),
    value: result.ratios[key]!,
    text: `${ratioText(key, result.ratios[key]!)}  (${targetText(key, result.targets[key])})`,
    tone: verdict(result, key),
    target: targetValue(result.targets[key]),
  }))
  return seconds
    ? barChart({ id: `${result.name}:targets`, title: 'Against the targets (seconds; the point is the target)', bars })
    : barChart({
        id: `${result.name}:ratios`,
        title: 'Ratios (log scale; dashed: 1×; the point is the target)',
        bars,
        log: true,
        reference: 1,
      })
}

function metricCharts(result: BenchResult): string[] {
  return Object.entries(result.metrics)
    .filter(([, group]) => Object.values(group).some((v) => typeof v === 'number' && Number.isFinite(v)))
    .map(([group, values]) => {
      const bars: Bar[] = Object.entries(values)
        .filter(([, v]) => typeof v === 'number')
        .map(([label, value]) => ({ label, value, text: num(value), tone: 'reported' as const }))
      const spread =
        Math.max(...bars.map((b) => b.value)) /
        Math.max(1e-9, Math.min(...bars.map((b) => b.value).filter((v) => v > 0)))
      return barChart({ id: `${result.name}:${group}`, title: group, bars, log: spread > 50 })
    })
}

function configTable(config: Record<string, unknown>): string {
  const rows = Object.entries(config).map(
    ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`,
  )
  return rows.length ? `<details><summary>configuration</summary><table>${rows.join('')}</table></details>` : ''
}

function section(result: BenchResult, seconds: number | undefined): string {
  const tone = Object.keys(result.targets).length === 0 ? 'reported' : result.pass ? 'pass' : 'missed'
  const growth = result.scaling?.length
    ? growthChart(
        'How cost grows (log scale)',
        result.scaling.map((s) => ({ label: s.what, unit: s.unit, points: s.points })),
      )
    : ''
  return `<section class="bench" data-bench="${esc(result.name)}">
<div class="head"><h2>${esc(result.name)}</h2><span class="badge ${tone}">${tone === 'missed' ? 'target missed' : tone}</span></div>
<div class="meta">${esc(day(result.environment?.date))} · node ${esc(result.environment?.node ?? '')} · ${result.environment?.cpus ?? '?'} CPUs${seconds === undefined ? '' : ` · ran ${num(seconds)} s`} · bench/results/${esc(result.name)}.json</div>
${ratioChart(result)}
${growth}
${metricCharts(result).join('\n')}
${configTable(result.config)}
</section>`
}

function markdownTable(input: ReportInput): string {
  return `<details><summary>The Markdown table (report.md)</summary><pre>${esc(renderMarkdown(input))}</pre></details>`
}

/** The whole page: a header, the total time, a section per benchmark. */
export function renderHtml(input: ReportInput): string {
  const total = input.run ? ` · the whole run took ${num(input.run.totalSeconds / 60)} min` : ''
  const missed = input.results.filter((r) => !r.pass).map((r) => r.name)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leakless benchmarks</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>leakless benchmarks</h1>
<p class="meta">${input.results.length} benchmarks${total} · ${missed.length ? `targets missed in ${esc(missed.join(', '))}` : 'every target met'} · ratios from one run each, contenders interleaved; the machine may have been shared.</p>
${input.results.length === 0 ? '<p>No results yet: run <code>npm run bench</code>.</p>' : ''}
${input.results.map((r) => section(r, input.run?.benchmarks[r.name]?.seconds)).join('\n')}
${markdownTable(input)}
</body></html>
`
}
