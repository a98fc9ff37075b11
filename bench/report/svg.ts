/** Inline SVG charts for the report: horizontal bars (linear or log scale, a target marker per bar) and growth. */

export type Tone = 'pass' | 'missed' | 'reported'

export interface Bar {
  label: string
  value: number
  /** The text after the bar. */
  text: string
  tone: Tone
  /** Drawn as a point with a tick: where the target is. */
  target?: number | null
}

const WIDTH = 920
const LABEL = 430
const PLOT = 360
const ROW = 26
const TOP = 30
const COLORS: Record<Tone, string> = { pass: '#2f9e5b', missed: '#d64545', reported: '#6b7c93' }

/** Escapes text for SVG and HTML. */
export const esc = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

const clip = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

interface Scale {
  x(value: number): number
  ticks: number[]
}

function linearScale(max: number): Scale {
  const top = max > 0 ? max * 1.08 : 1
  const step = 10 ** Math.floor(Math.log10(top))
  const ticks = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => i * step).filter((t) => t <= top)
  return { x: (v) => (Math.max(0, v) / top) * PLOT, ticks: ticks.length > 1 ? ticks : [0, top] }
}

function logScale(values: number[]): Scale {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v))
  const lo = Math.floor(Math.log10(Math.min(...positive, 1) / 1.3))
  const hi = Math.ceil(Math.log10(Math.max(...positive, 1) * 1.3))
  const span = Math.max(1, hi - lo)
  const ticks = Array.from({ length: span + 1 }, (_, i) => 10 ** (lo + i))
  return { x: (v) => ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * PLOT, ticks }
}

function tickText(t: number): string {
  for (const [size, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (t >= size) return `${Number((t / size).toPrecision(3))}${suffix}`
  }
  return String(Number(t.toPrecision(2)))
}

/**
 * Horizontal bars, one per row. With `log`, bars start at the left edge of a log axis and a dashed line
 * marks `reference` (1× for ratios).
 */
export function barChart(options: {
  title: string
  bars: Bar[]
  log?: boolean
  reference?: number
  id?: string
}): string {
  const { bars, log = false } = options
  const values = bars.flatMap((b) => [
    b.value,
    ...(b.target ? [b.target] : []),
    ...(options.reference ? [options.reference] : []),
  ])
  const scale = log ? logScale(values) : linearScale(Math.max(0, ...values.filter(Number.isFinite)))
  const height = TOP + bars.length * ROW + 28
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" ${options.id ? `data-chart="${esc(options.id)}" ` : ''}viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(options.title)}">`,
    `<text x="0" y="16" class="title">${esc(options.title)}</text>`,
  ]
  const plotBottom = TOP + bars.length * ROW
  for (const t of scale.ticks) {
    const x = LABEL + scale.x(t)
    out.push(`<line x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${plotBottom}" class="grid"/>`)
    out.push(`<text x="${x}" y="${plotBottom + 16}" class="tick" text-anchor="middle">${esc(tickText(t))}</text>`)
  }
  if (options.reference !== undefined) {
    const x = LABEL + scale.x(options.reference)
    out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${plotBottom}" class="reference"/>`)
  }
  bars.forEach((bar, i) => {
    const y = TOP + i * ROW
    const w = Number.isFinite(bar.value) ? Math.max(1, scale.x(bar.value)) : 0
    out.push(
      `<text x="${LABEL - 8}" y="${y + 16}" class="label" text-anchor="end"><title>${esc(bar.label)}</title>${esc(clip(bar.label))}</text>`,
    )
    out.push(
      `<rect class="bar ${bar.tone}" x="${LABEL}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 9}" fill="${COLORS[bar.tone]}"><title>${esc(`${bar.label}: ${bar.text}`)}</title></rect>`,
    )
    out.push(`<text x="${LABEL + PLOT + 8}" y="${y + 16}" class="value">${esc(bar.text)}</text>`)
    if (bar.target) {
      const x = (LABEL + scale.x(bar.target)).toFixed(1)
      out.push(`<line x1="${x}" y1="${y + 1}" x2="${x}" y2="${y + ROW - 2}" class="target-line"/>`)
      out.push(
        `<circle class="target" cx="${x}" cy="${y + ROW / 2}" r="4"><title>target ${esc(String(bar.target))}</title></circle>`,
      )
    }
  })
  out.push('</svg>')
  return out.join('\n')
}

/** One row per series: its values at each size as points on a log axis, joined by a line. */
export function growthChart(
  title: string,
  series: Array<{ label: string; unit: string; points: Array<{ size: string; value: number }> }>,
): string {
  const scale = logScale(series.flatMap((s) => s.points.map((p) => p.value)))
  const rowHeight = 44
  const height = TOP + series.length * rowHeight + 28
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart growth" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(title)}">`,
    `<text x="0" y="16" class="title">${esc(title)}</text>`,
  ]
  const bottom = TOP + series.length * rowHeight
  for (const t of scale.ticks) {
    const x = LABEL + scale.x(t)
    out.push(`<line x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${bottom}" class="grid"/>`)
    out.push(`<text x="${x}" y="${bottom + 16}" class="tick" text-anchor="middle">${esc(tickText(t))}</text>`)
  }
  series.forEach((s, i) => {
    const y = TOP + i * rowHeight + 18
    const xs = s.points.map((p) => LABEL + scale.x(p.value))
    out.push(
      `<text x="${LABEL - 8}" y="${y + 4}" class="label" text-anchor="end"><title>${esc(s.label)}</title>${esc(clip(s.label))}</text>`,
    )
    out.push(`<polyline class="growth-line" points="${xs.map((x) => `${x.toFixed(1)},${y}`).join(' ')}"/>`)
    s.points.forEach((p, k) => {
      out.push(
        `<circle class="point" cx="${xs[k]!.toFixed(1)}" cy="${y}" r="5"><title>${esc(`${p.size}: ${p.value} ${s.unit}`)}</title></circle>`,
      )
      out.push(
        `<text x="${xs[k]!.toFixed(1)}" y="${y - 9 + (k % 2) * 27}" class="point-label" text-anchor="middle">${esc(`${p.size}: ${Number(p.value.toPrecision(3))} ${s.unit}`)}</text>`,
      )
    })
  })
  out.push('</svg>')
  return out.join('\n')
}
