import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser } from '@playwright/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeReport } from '../../bench/report/write.js'
import { fixtureResults, writeFixtureResults } from '../support/bench-results.js'
import { obtainChromium } from '../support/chromium.js'
import { memoryTempDir } from '../support/temp-dir.js'

// The page must draw without the network: Chromium runs with it cut off.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-quic']

describe('bench/results/report.html in Chromium', () => {
  let browser: Browser
  let url: string

  beforeAll(async () => {
    const dir = memoryTempDir('leakless-bench-page-')
    writeFixtureResults(dir)
    const { html } = writeReport(dir)
    expect(html).toBe(join(dir, 'report.html'))
    url = pathToFileURL(html).href
    browser = await chromium.launch({ executablePath: obtainChromium(), args: ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
  })

  it('draws a chart per benchmark: bars of a visible size, target points, growth points', async () => {
    const context = await browser.newContext({ offline: true, viewport: { width: 1000, height: 900 } })
    const page = await context.newPage()
    const failed: string[] = []
    page.on('requestfailed', (request) => failed.push(request.url()))
    await page.goto(url)
    // Runs in the page (no DOM types here): what each benchmark's section drew, with the bars' boxes.
    const sections = (await page.evaluate(`[...document.querySelectorAll('section.bench')].map((section) => {
      const bars = [...section.querySelectorAll('svg.chart rect.bar')]
      return {
        name: section.getAttribute('data-bench'),
        svgs: section.querySelectorAll('svg.chart').length,
        bars: bars.length,
        drawnBars: bars.filter((b) => b.getBoundingClientRect().width >= 1 && b.getBoundingClientRect().height > 5).length,
        targets: section.querySelectorAll('svg circle.target').length,
        points: section.querySelectorAll('svg.growth circle.point').length,
        missed: section.querySelectorAll('rect.bar.missed').length,
      }
    })`)) as Array<{
      name: string
      svgs: number
      bars: number
      drawnBars: number
      targets: number
      points: number
      missed: number
    }>
    expect(sections.map((s) => s.name)).toEqual(fixtureResults.map((r) => r.name))
    for (const s of sections) {
      expect(s.svgs, s.name).toBeGreaterThanOrEqual(2) // ratios and metrics
      expect(s.drawnBars, s.name).toBe(s.bars)
    }
    const by = Object.fromEntries(sections.map((s) => [s.name, s]))
    // ids: 2 ratios + 3 generators; one target; audit: a missed target and a growth series of 2 sizes
    expect(by.ids!.bars).toBe(5)
    expect(by.ids!.targets).toBe(1)
    expect(by.audit!.missed).toBe(1)
    expect(by.audit!.points).toBe(2)
    expect(by.embedded!.targets).toBe(2)
    expect(by.isolation!.targets).toBe(0)
    expect(failed).toEqual([])
    await context.close()
  })

  it('a headless screenshot of the page is not blank: the bars are painted in their colours', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
    await page.goto(url)
    const png = (await page.screenshot({ fullPage: true })).toString('base64')
    // Decoded by Chromium itself (no image package): how many pixels are the pass, missed and grey bar colours.
    const counts = (await page.evaluate(`(async () => {
      const image = new Image()
      image.src = 'data:image/png;base64,${png}'
      await image.decode()
      const canvas = document.createElement('canvas')
      canvas.width = image.width
      canvas.height = image.height
      const ctx = canvas.getContext('2d')
      ctx.drawImage(image, 0, 0)
      const pixels = ctx.getImageData(0, 0, image.width, image.height).data
      const near = (i, [r, g, b]) => Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 30
      const out = { pass: 0, missed: 0, reported: 0, nonWhite: 0, total: pixels.length / 4 }
      for (let i = 0; i < pixels.length; i += 4) {
        if (near(i, [0x2f, 0x9e, 0x5b])) out.pass++
        else if (near(i, [0xd6, 0x45, 0x45])) out.missed++
        else if (near(i, [0x6b, 0x7c, 0x93])) out.reported++
        if (!near(i, [255, 255, 255])) out.nonWhite++
      }
      return out
    })()`)) as { pass: number; missed: number; reported: number; nonWhite: number; total: number }
    expect(counts.pass).toBeGreaterThan(500)
    expect(counts.missed).toBeGreaterThan(500)
    expect(counts.reported).toBeGreaterThan(500)
    expect(counts.nonWhite / counts.total).toBeGreaterThan(0.02)
    await page.close()
  })
})
