/**
 * `cleanup: 'background'` under the real Playwright, set per project (`use: { cleanup }`): a test's
 * cleanup runs while the worker's next test starts, the worker's close waits for it before the audit, a
 * background cleanup that fails fails the worker's teardown naming its test, and a failing test still
 * shows its own error.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { describe, expect, inject, test } from 'vitest'
import type { CreatedRowsAttachment } from '../../src/playwright/index.js'
import { chromiumLaunchOptions } from '../support/playwright-config.js'
import { countRunRows, createRunTag, removeProject, repoRoot, run, writeProject } from './harness.js'

const database = inject('database')
const NO_ROWS = { users: 0, sessions: 0, bookings: 0, activity: 0 }
const FACTORIES = `${repoRoot}factories/index.js`
const fixturesDir = new URL('./fixtures/playwright/', import.meta.url)

const config = (workers: number) => `import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'
import type { LeaklessWorkerOptions } from 'leakless/playwright'

export default defineConfig<{}, LeaklessWorkerOptions>({
  testDir: './tests',
  outputDir: './test-results',
  tsconfig: './tsconfig.json',
  fullyParallel: false,
  workers: ${workers},
  reporter: [['list'], ['json', { outputFile: 'report.json' }]],
  globalSetup: fileURLToPath(import.meta.resolve('leakless/playwright/global-setup')),
  globalTeardown: fileURLToPath(import.meta.resolve('leakless/playwright/global-teardown')),
  use: {
    launchOptions: ${chromiumLaunchOptions('    ')},
  },
  projects: [{ name: 'background', use: { cleanup: 'background' } }],
})
`

const fixtures = `import { leaklessTest } from 'leakless/playwright'
import { factories } from '${FACTORIES}'

export const test = leaklessTest({ factories })

/** 2 users, 2 sessions, 3 bookings. */
export async function graph(f: any) {
  const [parent, instructor] = await f.users.createList(2)
  await f.sessions.createList(2, { userId: parent })
  await f.bookings.createList(3, { parentId: parent, instructorId: instructor })
  return parent
}

export async function rowsOf(db: any, prefix: string): Promise<number> {
  const { sql } = await import('drizzle-orm')
  const [row] = await db.execute(sql\`select (select count(*) from users where starts_with(id, \${prefix})) + (select count(*) from sessions where starts_with(id, \${prefix})) + (select count(*) from bookings where starts_with(id, \${prefix})) as n\`)
  return Number(row.n)
}
`

/**
 * The first test ends while another connection locks its user, so its cleanup cannot finish; the next
 * test starts anyway and sees its rows, then lets go (after each test, the first cleanup would time out).
 */
const backgroundSpec = (file: string) => `import postgres from 'postgres'
import { expect } from '@playwright/test'
import { graph, rowsOf, test } from '../fixtures.js'

const locker = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
let held: any
let first = ''

test.afterAll(() => locker.end())

test('${file} 1 ends while its user is locked', async ({ factories, scope }) => {
  const parent = await graph(factories)
  first = scope.prefix
  held = await locker.reserve()
  await held\`begin\`
  await held\`select id from users where id = \${parent.id} for update\`
})

test('${file} 2 starts before that cleanup ended', async ({ factories, scope, db }) => {
  await graph(factories)
  expect(await rowsOf(db, first)).toBe(7)
  expect(await rowsOf(db, scope.prefix)).toBe(7)
  await held\`commit\`
  held.release()
  console.log('BACKGROUND_SEEN')
})

for (const n of [3, 4, 5]) {
  test(\`${file} \${n}\`, async ({ factories, scope, db }) => {
    await graph(factories)
    expect(await rowsOf(db, scope.prefix)).toBe(7)
  })
}
`

function project(name: string, workers: number, files: Record<string, string>, leakless = ''): string {
  return writeProject(`playwright-background-${name}`, {
    'playwright.config.ts': config(workers),
    'tsconfig.json': readFileSync(new URL('tsconfig.json', fixturesDir), 'utf8'),
    'fixtures.ts': fixtures,
    'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ ${leakless} })\n`,
    ...Object.fromEntries(Object.entries(files).map(([file, body]) => [`tests/${file}`, body])),
  })
}

function playwright(dir: string, runTag: string) {
  return run(process.execPath, [`${repoRoot}node_modules/@playwright/test/cli.js`, 'test'], {
    cwd: dir,
    env: { DATABASE_URL: database.url, LEAKLESS_RUN: runTag },
    timeoutMs: 180_000,
  })
}

/** The `leakless-created-rows` attachments of the JSON report, by test title. */
function attachments(dir: string): Map<string, CreatedRowsAttachment> {
  const out = new Map<string, CreatedRowsAttachment>()
  const text = readFileSync(join(dir, 'report.json'), 'utf8')
  type Node = {
    specs?: Array<{
      title: string
      tests: Array<{ results: Array<{ attachments: Array<{ name: string; body?: string }> }> }>
    }>
    suites?: Node[]
  }
  const walk = (node: Node) => {
    for (const spec of node.specs ?? [])
      for (const t of spec.tests)
        for (const r of t.results)
          for (const a of r.attachments)
            if (a.name === 'leakless-created-rows' && a.body)
              out.set(spec.title, JSON.parse(Buffer.from(a.body, 'base64').toString('utf8')) as CreatedRowsAttachment)
    node.suites?.forEach(walk)
  }
  ;(JSON.parse(text) as { suites: Node[] }).suites.forEach(walk)
  return out
}

describe("cleanup: 'background' (use: { cleanup } of a Playwright project)", () => {
  test('2 workers, 2 files: all pass, every row gone, the audits clean; the attachments say background', async () => {
    const runTag = createRunTag()
    const dir = project('pass', 2, { 'a.spec.ts': backgroundSpec('a'), 'b.spec.ts': backgroundSpec('b') })
    const result = await playwright(dir, runTag)
    expect(result.output).toContain('10 passed')
    expect(result.output.match(/BACKGROUND_SEEN/g)).toHaveLength(2)
    expect(result.output).not.toMatch(/LeakError|CleanupError|left rows/)
    expect(result.code, result.output).toBe(0)
    const rows = attachments(dir)
    expect(rows.size).toBe(10)
    for (const body of rows.values()) {
      expect(body.cleanup).toBe('background')
      expect(body.deleted).toBeNull()
      expect(Object.values(body.rows).flat()).toHaveLength(7)
    }
    expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
    removeProject(dir)
  })

  test("a background cleanup that fails fails the worker's teardown naming the test; a failing test keeps its own error", async () => {
    const schema = `lk_pw_bg_${Math.random().toString(36).slice(2, 8)}`
    const table = `${schema}.notes`
    const spec = `import postgres from 'postgres'
import { expect } from '@playwright/test'
import { test } from '../fixtures.js'

test('leaves a note', async ({ factories, db }) => {
  const user = await factories.users.create()
  const { sql } = await import('drizzle-orm')
  await db.execute(sql.raw(\`insert into ${table} (user_id) values ('\${user.id}')\`))
  console.log(\`USER=\${user.id}\`)
})

test('fails on its own', async ({ factories }) => {
  const user = await factories.users.create()
  expect(user.role).toBe('admin')
})

// Long after the first test's background cleanup failed: the note goes, so the worker's close can clean up.
test.afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
  await sql.unsafe('delete from ${table}')
  await sql.end()
})
`
    const sql = postgres(database.url, { max: 1, onnotice: () => {} })
    try {
      await sql.unsafe(
        `create schema ${schema}; create table ${table} (id serial primary key, user_id text references public.users(id))`,
      )
      const runTag = createRunTag()
      const dir = project('fails', 1, { 'notes.spec.ts': spec }, `schemas: ['public', '${schema}']`)
      const result = await playwright(dir, runTag)

      expect(/USER=(\S+)/.exec(result.output)?.[1]).toMatch(new RegExp(`^${runTag}-`))
      expect(result.output).toContain('Expected: "admin"')
      expect(result.output).toContain(
        "CleanupError: leakless: the background cleanup (cleanup: 'background') of 1 test failed in worker 0:",
      )
      expect(result.output).toContain('test "notes.spec.ts › leaves a note" (ids')
      expect(result.output).toContain(
        `CleanupError CLEANUP_NULLABLE_DEPENDENT: Cleanup stopped, nothing deleted: ${table}.user_id references a row this cleanup owns`,
      )
      expect(result.output).toContain('1 failed')
      expect(result.code).toBe(1)
      expect(await countRunRows(database.url, runTag)).toEqual(NO_ROWS)
      removeProject(dir)
    } finally {
      await sql.unsafe(`drop table if exists ${table}; drop schema if exists ${schema}`)
      await sql.end()
    }
  })
})
