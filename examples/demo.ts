/**
 * `npm run demo`, the main job: the booking app's Vitest and Playwright suites on one leakless run,
 * then a report of what the run made, deleted and left. On the embedded PostgreSQL unless
 * `DATABASE_URL` is set. `npm run demo -- --leak` adds a test that leaks on purpose: the audit catches
 * it, names table, row and test, and the demo exits 1.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { audit, connect, createRunTag, ensureSchema, type Database } from 'leakless'
import { findChromium, INSTALL_HINT } from '../test/support/chromium.js'
import type { DemoWorkerRecord } from './support/demo-stats.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const TABLES = ['users', 'sessions', 'bookings', 'activity'] as const
const leak = process.argv.includes('--leak')

interface SuiteResult {
  name: string
  ran: boolean
  exitCode: number
  passed: number
  failed: number
  /** Lines of leak reports the runner printed (table, row, test). */
  leaks: string[]
  note?: string
}

/** Runs a command with the demo's environment, its output going to the terminal as it comes. */
function runSuite(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const echo = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString()
      to.write(chunk)
    }
    child.stdout.on('data', (chunk: Buffer) => echo(chunk, process.stdout))
    child.stderr.on('data', (chunk: Buffer) => echo(chunk, process.stderr))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

/** The rows of leak reports in a runner's output: `public.users (1 row)` headers and their row lines. */
function leakLines(output: string): string[] {
  const plain = stripVTControlCharacters(output)
  const lines: string[] = []
  let inReport = false
  for (const line of plain.split('\n')) {
    if (/leakless audit \S+: \d+ rows? left/.test(line)) inReport = true
    else if (inReport && line.trim() === '') inReport = lines.length === 0
    if (inReport && /^\s*(\S+\.\S+ \(\d+ rows?\)|\s+\S+=|test |.*".*")/.test(line)) lines.push(line.trimEnd())
  }
  return [...new Set(lines)]
}

async function tableCounters(db: Database): Promise<Record<string, { ins: number; del: number }>> {
  await db.execute('select pg_stat_clear_snapshot()')
  const rows = await db.execute<{ relname: string; ins: string; del: string }>(
    `select relname, n_tup_ins::text as ins, n_tup_del::text as del from pg_stat_user_tables
     where schemaname = 'public' and relname = any($1)`,
    [[...TABLES]],
  )
  return Object.fromEntries(rows.map((r) => [r.relname, { ins: Number(r.ins), del: Number(r.del) }]))
}

/** Statistics of finished sessions reach pg_stat_user_tables a moment later: read until they settle. */
async function settledCounters(db: Database): Promise<Record<string, { ins: number; del: number }>> {
  let last = JSON.stringify(await tableCounters(db))
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const now = await tableCounters(db)
    if (JSON.stringify(now) === last) return now
    last = JSON.stringify(now)
  }
  return JSON.parse(last) as Record<string, { ins: number; del: number }>
}

function vitestCounts(file: string): { passed: number; failed: number } {
  if (!existsSync(file)) return { passed: 0, failed: 0 }
  const json = JSON.parse(readFileSync(file, 'utf8')) as { numPassedTests: number; numFailedTests: number }
  return { passed: json.numPassedTests, failed: json.numFailedTests }
}

function playwrightCounts(file: string): { passed: number; failed: number } {
  if (!existsSync(file)) return { passed: 0, failed: 0 }
  const { stats } = JSON.parse(readFileSync(file, 'utf8')) as {
    stats: { expected: number; unexpected: number; flaky: number }
  }
  return { passed: stats.expected + stats.flaky, failed: stats.unexpected }
}

function pad(values: Array<string | number>, widths: number[]): string {
  return values.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]!) : String(v).padStart(widths[i]!))).join('  ')
}

async function main(): Promise<number> {
  const started = performance.now()
  const work = mkdtempSync(join(tmpdir(), 'leakless-demo-'))
  // The embedded PostgreSQL when DATABASE_URL is not set: it exports its URL to the suites below.
  const db = await connect()
  try {
    await ensureSchema(db, { migrationsFolder: join(root, 'factories/migrations') })
    const runTag = createRunTag()
    const stats = join(work, 'workers.jsonl')
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LEAKLESS_RUN: runTag,
      LEAKLESS_DEMO_STATS: stats,
      ...(leak ? { LEAKLESS_DEMO_LEAK: '1' } : {}),
    }
    const { target } = db
    console.log(
      `leakless demo: run ${runTag} on ${target.host}:${target.port}/${target.database} (${db.source === 'embedded' ? 'the embedded PostgreSQL' : 'DATABASE_URL'})${leak ? ', with a test that leaks on purpose' : ''}\n`,
    )
    const before = await tableCounters(db)

    const suites: SuiteResult[] = []
    const vitestJson = join(work, 'vitest.json')
    const vitest = await runSuite(
      process.execPath,
      [
        join(root, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        'examples/vitest/vitest.config.ts',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${vitestJson}`,
      ],
      env,
    )
    suites.push({
      name: 'Vitest',
      ran: true,
      exitCode: vitest.code,
      ...vitestCounts(vitestJson),
      leaks: leakLines(vitest.output),
    })

    const chromium = findChromium(env)
    if (chromium === null) {
      suites.push({
        name: 'Playwright',
        ran: false,
        exitCode: 0,
        passed: 0,
        failed: 0,
        leaks: [],
        note: `skipped: no Chromium found. Get one: ${INSTALL_HINT}`,
      })
    } else {
      const playwrightJson = join(work, 'playwright.json')
      const playwright = await runSuite(
        process.execPath,
        [
          join(root, 'node_modules/@playwright/test/cli.js'),
          'test',
          '-c',
          'examples/playwright/playwright.config.ts',
          '--reporter=list,json',
        ],
        { ...env, LEAKLESS_CHROMIUM: chromium, PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson },
      )
      suites.push({
        name: 'Playwright',
        ran: true,
        exitCode: playwright.code,
        ...playwrightCounts(playwrightJson),
        leaks: leakLines(playwright.output),
      })
    }

    const after = await settledCounters(db)
    const left = await audit({ db, runTag, deep: true })
    const records = existsSync(stats)
      ? readFileSync(stats, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as DemoWorkerRecord)
      : []
    const workers = new Set(records.map((r) => `${r.runner}:${r.worker}`))
    const processes = new Set(records.map((r) => `${r.runner}:${r.pid}`))
    const byFactories: Record<string, number> = {}
    for (const r of records)
      for (const [table, n] of Object.entries(r.created)) byFactories[table] = (byFactories[table] ?? 0) + n

    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    const tests = suites.reduce((n, s) => n + s.passed + s.failed, 0)
    const failed = suites.reduce((n, s) => n + s.failed, 0)
    const leaks = suites.flatMap((s) => s.leaks)
    const leakCount = leaks.filter((line) => /^\s+\S+=/.test(line)).length + left.rows.length
    console.log(`\n──── leakless demo report ────`)
    console.log(`run tag      ${runTag}`)
    const count = (set: Set<string>, runner: string) => [...set].filter((w) => w.startsWith(`${runner}:`)).length
    const runners = [...new Set(records.map((r) => r.runner))]
    console.log(
      `workers      ${runners.map((r) => `${r} ${count(workers, r)} (${count(processes, r)} processes)`).join(', ') || 'none'}`,
    )
    for (const s of suites) {
      console.log(
        `${s.name.padEnd(12)} ${s.ran ? `${s.passed} passed, ${s.failed} failed (exit ${s.exitCode})` : s.note}`,
      )
    }
    console.log(`tests        ${tests} (${failed} failed)`)
    const widths = [18, 8, 11, 8, 8, 6]
    console.log(`\n${pad(['table', 'created', 'factories', 'by app', 'deleted', 'left'], widths)}`)
    for (const table of TABLES) {
      const deleted = (after[table]?.del ?? 0) - (before[table]?.del ?? 0)
      const stillThere = left.tables[`public.${table}`] ?? 0
      // Every row made is now deleted or left: inserts that rolled back (the races the tests provoke) are not rows.
      const created = deleted + stillThere
      const factories = byFactories[`public.${table}`] ?? 0
      console.log(
        pad(
          [
            `public.${table}`,
            created,
            factories,
            Math.max(0, created - factories),
            deleted,
            left.tables[`public.${table}`] ?? 0,
          ],
          widths,
        ),
      )
    }
    console.log(`\nleaks found  ${leakCount}`)
    for (const line of leaks) console.log(`  ${line.trim()}`)
    if (left.rows.length > 0) console.log(`  still in the database after the run: ${JSON.stringify(left.tables)}`)
    console.log(`time         ${seconds} s`)
    if (db.source !== 'embedded')
      console.log(`(created and deleted count every row written to these tables on this database while the demo ran)`)

    const ok = suites.every((s) => s.exitCode === 0) && leakCount === 0
    console.log(
      ok
        ? '\nleakless demo: every test passed, every row it made is gone.'
        : `\nleakless demo: ${leakCount > 0 ? 'the audit caught a leak' : 'a suite failed'} (exit 1).`,
    )
    return ok ? 0 : 1
  } finally {
    await db.close()
    rmSync(work, { recursive: true, force: true })
  }
}

// Explicitly: the embedded server's exit hook (async-exit-hook) exits with 0 on 'beforeExit', whatever
// process.exitCode says. main() has stopped the server already (db.close()).
process.exit(await main())
