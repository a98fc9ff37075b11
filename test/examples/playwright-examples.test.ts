/**
 * The Playwright example suite (examples/playwright: the booking app in Chromium) under the real
 * Playwright CLI, as `npx playwright test -c examples/playwright/playwright.config.ts` runs it from the
 * repository's root, with leakless from the built package: all pass on two workers or more, the
 * worker-scoped login is reused, no leak is reported, and no row of the run is left.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, inject, test } from 'vitest'
import { decodeId } from '../../src/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import postgres from 'postgres'
import { CREATED_ROWS_ATTACHMENT, type CreatedRowsAttachment } from '../../src/playwright/index.js'
import { repoRoot, run } from '../adapters/harness.js'
import { countOwnedRows } from './harness.js'

const url = inject('database').url
const cli = join(repoRoot, 'node_modules/@playwright/test/cli.js')

interface TestResult {
  file: string
  title: string
  status: string
  workerIndex: number
  rows: CreatedRowsAttachment | null
}

/** Every result of the JSON reporter's report, with the `leakless-created-rows` attachment decoded. */
function results(reportFile: string): TestResult[] {
  type Suite = {
    file?: string
    specs?: Array<{
      title: string
      file: string
      tests: Array<{
        results: Array<{ status: string; workerIndex: number; attachments: Array<{ name: string; body?: string }> }>
      }>
    }>
    suites?: Suite[]
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { suites: Suite[] }
  const out: TestResult[] = []
  const walk = (suite: Suite) => {
    for (const spec of suite.specs ?? []) {
      for (const r of spec.tests.flatMap((t) => t.results)) {
        const body = r.attachments.find((a) => a.name === CREATED_ROWS_ATTACHMENT)?.body
        out.push({
          file: spec.file,
          title: spec.title,
          status: r.status,
          workerIndex: r.workerIndex,
          rows: body ? (JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as CreatedRowsAttachment) : null,
        })
      }
    }
    for (const child of suite.suites ?? []) walk(child)
  }
  report.suites.forEach(walk)
  return out
}

test('examples/playwright: 8 tests pass in Chromium on 2 projects, one login per worker, no leak, no row left', async () => {
  const runTag = createRunTag()
  const out = mkdtempSync(join(tmpdir(), 'leakless-pw-example-'))
  try {
    const report = join(out, 'report.json')
    const result = await run(
      process.execPath,
      [cli, 'test', '-c', 'examples/playwright/playwright.config.ts', '--reporter=list,json', '--output', out],
      {
        cwd: repoRoot,
        // PORT unset: the config picks a free port for the app.
        env: { DATABASE_URL: url, LEAKLESS_RUN: runTag, PORT: undefined, PLAYWRIGHT_JSON_OUTPUT_FILE: report },
        timeoutMs: 150_000,
      },
    )
    expect(result.output).toContain('8 passed')
    expect(result.output).not.toMatch(/LeakError|leaks? found|left rows/)
    expect(result.code, result.output).toBe(0)

    const tests = results(report)
    expect(tests.map((t) => `${t.file} › ${t.title}`).sort()).toEqual([
      'booking.spec.ts › books an instructor through the form',
      'booking.spec.ts › my bookings shows only mine',
      'booking.spec.ts › two parents race for one slot: one books it, the other sees it is taken',
      'onboarding.spec.ts › the instructors directory starts empty, then lists the first instructor',
      'sign-up.spec.ts › signs up through the form and lands on my bookings',
      "worker-login.spec.ts › books an instructor with the worker's login",
      "worker-login.spec.ts › lists a factory booking of the worker's parent",
      "worker-login.spec.ts › the worker's parent is signed in from the storage state",
    ])
    expect(tests.every((t) => t.status === 'passed')).toBe(true)
    expect(new Set(tests.map((t) => t.workerIndex)).size).toBeGreaterThanOrEqual(2)
    // Every test that used a leakless fixture of its own lists its rows (one only reads the worker's parent).
    const scoped = tests.filter((t) => t.rows !== null)
    expect(scoped).toHaveLength(7)
    for (const t of scoped) expect(t.rows!.prefix.startsWith(`${runTag}-`)).toBe(true)

    // The sign-up's rows were all the app's (no factory ran): cleanup found the user by its tagged
    // e-mail and deleted it with its session and both activity rows.
    const signUp = tests.find((t) => t.file === 'sign-up.spec.ts')!.rows!
    expect(signUp.rows).toEqual({})
    expect(signUp.deleted).toEqual({ 'public.activity': 2, 'public.sessions': 1, 'public.users': 1 })

    // One parent per worker, made on the worker's scope 0 and shared by all three tests of the file.
    const logins = [...result.output.matchAll(/EXAMPLE_WORKER_LOGIN worker=(\d+) user=(\S+)/g)]
    expect(logins).toHaveLength(3)
    expect(new Set(logins.map((m) => m[2])).size).toBe(1)
    const worker = Number(logins[0]![1])
    expect(logins.every((m) => Number(m[1]) === worker)).toBe(true)
    expect(tests.filter((t) => t.file === 'worker-login.spec.ts').map((t) => t.workerIndex)).toEqual([
      worker,
      worker,
      worker,
    ])
    // The worker's short process field: its number in the run registry.
    expect(decodeId(logins[0]![2]!)).toMatchObject({ runTag, process: expect.any(Number), scope: 0 })

    // App-made users have uuid ids but tagged e-mails: counted by both, with everything of theirs.
    expect(await countOwnedRows(url, `${runTag}-`)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
    // The onboarding project's databases (one per worker) are dropped with their workers.
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      expect(await sql`select datname from pg_database where strpos(datname, ${runTag}) > 0`).toEqual([])
    } finally {
      await sql.end()
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
