/**
 * The README's "Use it in your app" and the complete Vitest and Playwright setups of docs/vitest.md and
 * docs/playwright.md, run as written: their files are written into a project (with the reference
 * schema, factories and migrations where the text says the user has theirs), then the commands they
 * give are run — the README's "Sharded CI" script included. Only this machine's specifics are added:
 * Debian's Chromium, and an app port per shard (both shards run on one machine here).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { countRunRows, removeProject, repoRoot, run, writeProject } from './harness.js'

const pages = {
  readme: 'README.md',
  vitest: 'docs/vitest.md',
  playwright: 'docs/playwright.md',
} as const
const database = inject('database')
const projects: string[] = []

/** The text of a section of a page, from its heading to the next heading of the same or a higher level. */
function section(page: keyof typeof pages, heading: string): string {
  const text = `\n${readFileSync(join(repoRoot, pages[page]), 'utf8')}`
  const level = heading.indexOf(' ')
  const start = text.indexOf(`\n${heading}\n`)
  expect(start, `${pages[page]} has a section "${heading}"`).toBeGreaterThan(-1)
  const rest = text.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`\\n#{1,${level}} `))
  return end === -1 ? rest : rest.slice(0, end)
}

/** Its ```ts title=<path> blocks, by path. */
function files(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/```ts title=(\S+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]))
}

/** The user's drizzle-kit migrations in ./drizzle: the reference domain's. */
function migrations(): Record<string, string> {
  const from = join(repoRoot, 'factories/migrations')
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else out[join('drizzle', relative(from, path))] = readFileSync(path, 'utf8')
    }
  }
  walk(from)
  return out
}

/** What a user has beside the docs' files: their factories and their drizzle-kit migrations. */
function userProject(): Record<string, string> {
  return {
    'factories/index.ts': `export * from ${JSON.stringify(join(repoRoot, 'factories/index.ts'))}\n`,
    ...migrations(),
  }
}

/** The app under test (who the session cookie belongs to), its tsconfig, and this machine's Playwright config. */
function playwrightMachine(): Record<string, string> {
  return {
    'server.js': readFileSync(new URL('./fixtures/playwright/server.mjs', import.meta.url), 'utf8'),
    'tsconfig.json': readFileSync(new URL('./fixtures/playwright/tsconfig.json', import.meta.url), 'utf8'),
    'playwright.ci.config.ts': `import { defineConfig } from '@playwright/test'
import readme from './playwright.config.ts'

// This machine: Debian's Chromium, and one app port per shard (both shards run here at once).
const shard = Number(/--shard=(\\d+)/.exec(process.argv.join(' '))?.[1] ?? 0)
const port = (process.env.README_APP_PORT ??= String(Number(process.env.README_PORT_BASE) + shard))
const webServer = readme.webServer as { command: string; env: Record<string, string> }

export default defineConfig({
  ...readme,
  outputDir: './test-results',
  tsconfig: './tsconfig.json',
  webServer: { ...webServer, url: \`http://127.0.0.1:\${port}\`, env: { ...webServer.env, APP_PORT: port } },
  use: {
    ...readme.use,
    baseURL: \`http://127.0.0.1:\${port}\`,
    launchOptions: {
      executablePath: process.env.LEAKLESS_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
})
`,
  }
}

/** The README's "Sharded CI" script: the first line makes the run tag, the last audits it. */
function shardedScript(): string {
  const [script] = [...section('readme', '### Sharded CI').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
  expect(script).toContain('npx playwright test --shard=1/2')
  return script!
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

afterAll(() => {
  for (const dir of projects) removeProject(dir)
})

describe('README', () => {
  it('"Use it in your app": its files, with the complete configs, pass under the real Vitest and Playwright on one run', async () => {
    const app = files(section('readme', '## Use it in your app'))
    expect(Object.keys(app)).toEqual([
      'leakless.config.ts',
      'factories/index.ts',
      'test/session.test.ts',
      'e2e/home.spec.ts',
    ])
    const dir = writeProject('readme-app', {
      // The user's drizzle tables and their migrations: the reference domain's.
      'db/schema.ts': `export * from ${JSON.stringify(join(repoRoot, 'factories/schema.ts'))}\n`,
      ...migrations(),
      ...app,
      'vitest.config.ts': files(section('vitest', '## A complete setup'))['vitest.config.ts']!,
      'playwright.config.ts': files(section('playwright', '## A complete setup'))['playwright.config.ts']!,
      ...playwrightMachine(),
    })
    projects.push(dir)
    // The run tag as the Sharded CI script makes it; both runners share it.
    const makeTag = shardedScript().split('\n')[0]!
    expect(makeTag).toMatch(/^export LEAKLESS_RUN=/)
    const script = `${makeTag}\nnpx vitest run && npx playwright test -c playwright.ci.config.ts\nstatus=$?\necho "RUN=$LEAKLESS_RUN"\nexit $status`
    const result = await run('bash', ['-c', script], {
      cwd: dir,
      env: { DATABASE_URL: database.url, README_PORT_BASE: String(await freePort()) },
      timeoutMs: 180_000,
    })
    expect(result.code, result.output).toBe(0)
    expect(result.output, result.output).toMatch(/Tests\s+1 passed \(1\)/) // Vitest
    expect(result.output, result.output).toMatch(/^\s*1 passed\b/m) // Playwright
    expect(result.output).not.toMatch(/\bfailed\b|unique/i)
    const runTag = /^RUN=([0-9a-z]{14})$/m.exec(result.stdout)?.[1]
    expect(runTag, result.output).toBeDefined()
    expect(await countRunRows(database.url, runTag!)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
  })
})

describe('docs/vitest.md and docs/playwright.md', () => {
  it('"Vitest": the complete setup runs with `npx vitest run` on the embedded PostgreSQL', async () => {
    const vitest = files(section('vitest', '## A complete setup'))
    expect(Object.keys(vitest)).toEqual([
      'vitest.config.ts',
      'leakless.config.ts',
      'test/fixtures.ts',
      'test/booking.test.ts',
    ])
    const dir = writeProject('readme-vitest', { ...userProject(), ...vitest })
    projects.push(dir)
    const pgDir = join(tmpdir(), `leakless-readme-pg-${randomBytes(4).toString('hex')}`)
    try {
      const result = await run('npx', ['vitest', 'run'], {
        cwd: dir,
        env: { DATABASE_URL: undefined, LEAKLESS_DATABASE_URL: undefined, LEAKLESS_PG_DIR: pgDir },
        timeoutMs: 120_000,
      })
      expect(result.code, result.output).toBe(0)
      expect(result.output).toMatch(/Tests\s+1 passed \(1\)/)
    } finally {
      rmSync(pgDir, { recursive: true, force: true })
    }
  })

  it('"Playwright" and the README\'s "Sharded CI": two shards of the setup share one run, and its audit is clean', async () => {
    const playwright = files(section('playwright', '## A complete setup'))
    expect(Object.keys(playwright)).toEqual(['playwright.config.ts', 'e2e/fixtures.ts', 'e2e/home.spec.ts'])
    const script = shardedScript()
    const dir = writeProject('readme-playwright', {
      ...userProject(),
      'leakless.config.ts': files(section('vitest', '## A complete setup'))['leakless.config.ts']!,
      ...playwright,
      // A second spec, so that each of the two shards has a test.
      'e2e/again.spec.ts': playwright['e2e/home.spec.ts']!.replace("'shows who is signed in'", "'again'"),
      ...playwrightMachine(),
    })
    projects.push(dir)
    const commands = script!.replaceAll('npx playwright test', 'npx playwright test -c playwright.ci.config.ts')
    const result = await run('bash', ['-c', `${commands}\nstatus=$?\necho "RUN=$LEAKLESS_RUN"\nexit $status`], {
      cwd: dir,
      env: { DATABASE_URL: database.url, README_PORT_BASE: String((await freePort()) - 1) },
      timeoutMs: 180_000,
    })
    expect(result.code, result.output).toBe(0)
    expect(result.output.match(/\b1 passed\b/g), result.output).toHaveLength(2)
    expect(result.output).not.toMatch(/\bfailed\b|unique/i)
    const runTag = /^RUN=([0-9a-z]{14})$/m.exec(result.stdout)?.[1]
    expect(runTag, result.output).toBeDefined()
    expect(result.output).toContain(`leakless audit ${runTag}-: clean`)
    expect(await countRunRows(database.url, runTag!)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
  })
})
