import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, inject, it } from 'vitest'

const own = createRequire(import.meta.url)
const root = resolve(import.meta.dirname, '../..')
// The scratch project is a plain Node process: none of this runner's worker variables.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST_|LEAKLESS_|NODE_OPTIONS$)/.test(k)),
)
function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...env, ...extra },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    // Not the cause: its serialised output (all of it again) would bury the message.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`)
  }
}
// Read from node_modules: not every package exports its package.json.
const version = (name: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version

const SUBPATHS = ['vitest/global-setup', 'playwright', 'playwright/global-setup', 'playwright/global-teardown']

// Requires the package and every subpath, then loads the ES module build into the same process.
const SMOKE = `const leakless = require('leakless')
const loaded = Object.fromEntries(${JSON.stringify(SUBPATHS)}.map((s) => [s, Object.keys(require('leakless/' + s)).sort()]))
let vitestRefusal = null
try {
  require('leakless/vitest')
} catch (error) {
  vitestRefusal = error.message
}
;(async () => {
  const cjsRun = await leakless.createRun()
  const email = cjsRun.scope('smoke').email('parent')
  const esm = await import('leakless')
  const esmRun = await esm.createRun()
  const esmEmail = esmRun.scope('smoke').email('parent')
  console.log(JSON.stringify({
    resolved: Object.fromEntries(['leakless', ...${JSON.stringify(SUBPATHS)}.map((s) => 'leakless/' + s)].map((s) => [s, require.resolve(s)])),
    loaded,
    vitestRefusal,
    email,
    esmEmail,
    decoded: leakless.decodeId(esmEmail),
    prefixes: [cjsRun.prefix, esmRun.prefix],
    twoCopies: esm.createRun !== leakless.createRun,
    brand: [
      leakless.isLeaklessError(new esm.ConfigError('RUN_TAG_INVALID', 'x')),
      esm.isLeaklessError(new leakless.InputError('LABEL_INVALID', 'x')),
    ],
  }))
})()
`

// A CommonJS TypeScript file: tsc resolves the "require" condition and its .d.cts types.
const TYPES = `import { createRun, decodeId, isLeaklessError, type RunContext } from 'leakless'
import { leaklessTest, type LoginOptions } from 'leakless/playwright'
import globalSetup from 'leakless/playwright/global-setup'
import globalTeardown from 'leakless/playwright/global-teardown'
import type { LeaklessFixtures } from 'leakless/vitest'
import { leaklessGlobalSetup } from 'leakless/vitest/global-setup'

export const scope: number | undefined = decodeId('x')?.scope
export const runs: Promise<RunContext> = createRun()
export const checks: boolean = isLeaklessError(null)
export const test = leaklessTest()
export const login: LoginOptions = { cookie: 'sid' }
export const hooks: Array<(...args: never[]) => unknown> = [globalSetup, globalTeardown, leaklessGlobalSetup]
export type Fixtures = LeaklessFixtures<Record<never, never>>['scope']
`

// Playwright compiles a CommonJS project's config and specs to require().
const PLAYWRIGHT_CONFIG = `import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: './tests',
  workers: 2,
  reporter: 'list',
  globalSetup: require.resolve('leakless/playwright/global-setup'),
  globalTeardown: require.resolve('leakless/playwright/global-teardown'),
})
`
const PLAYWRIGHT_SPEC = `import { expect } from '@playwright/test'
import { sql } from 'drizzle-orm'
import { leaklessTest } from 'leakless/playwright'

const test = leaklessTest()

for (const n of [1, 2]) {
  test(\`ids from a spec compiled to require() \${n}\`, async ({ scope, run, db }) => {
    expect(typeof module).toBe('object')
    expect(Object.keys(require.cache).some((file) => file.endsWith('/leakless/dist/playwright/index.cjs'))).toBe(true)
    const email = scope.email('cjs')
    expect(email.startsWith(run.prefix)).toBe(true)
    const rows = await db.execute(sql\`select \${email}::text as email\`)
    expect(JSON.stringify(rows)).toContain(email)
    console.log('cjs spec email', email)
  })
}
`

describe('the packed package from CommonJS', () => {
  it('requires every subpath, types through .d.cts, shares ids and error brands with the ES module build, runs a Playwright config compiled to require()', () => {
    const tarball = inject('tarball')
    const scratch = mkdtempSync(join(dirname(tarball), 'scratch-cjs-'))
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch-cjs', private: true, type: 'commonjs' }),
    )
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        tarball,
        `@playwright/test@${version('@playwright/test')}`,
        `vitest@${version('vitest')}`,
        // A driver is the project's own (an optional peer dependency of leakless).
        `postgres@${version('postgres')}`,
      ],
      scratch,
    )

    writeFileSync(join(scratch, 'smoke.js'), SMOKE)
    const smoke = JSON.parse(run('node', ['smoke.js'], scratch)) as {
      resolved: Record<string, string>
      loaded: Record<string, string[]>
      vitestRefusal: string | null
      email: string
      esmEmail: string
      decoded: { scope: number; runTag: string }
      prefixes: [string, string]
      twoCopies: boolean
      brand: boolean[]
    }
    for (const [specifier, file] of Object.entries(smoke.resolved)) {
      expect(file, specifier).toMatch(/\/node_modules\/leakless\/dist\/.+\.cjs$/)
    }
    expect(smoke.loaded).toEqual({
      'vitest/global-setup': ['default', 'leaklessGlobalSetup'],
      playwright: ['CREATED_ROWS_ATTACHMENT', 'SEED_ATTACHMENT', 'leaklessTest', 'startDatabase'],
      'playwright/global-setup': ['default'],
      'playwright/global-teardown': ['default'],
    })
    // Vitest refuses require() itself; its test files are ES modules even in a CommonJS project.
    expect(smoke.vitestRefusal).toContain('Vitest cannot be imported in a CommonJS module using require()')
    // Two copies of the package in one process: one run tag, distinct process fields, one error brand.
    expect(smoke.twoCopies).toBe(true)
    expect(smoke.decoded.scope).toBe(1)
    expect(smoke.email.split('-')[0]).toBe(smoke.esmEmail.split('-')[0])
    const [cjsPrefix, esmPrefix] = smoke.prefixes
    expect(cjsPrefix.startsWith(esmPrefix) || esmPrefix.startsWith(cjsPrefix)).toBe(false)
    expect(smoke.email).not.toBe(smoke.esmEmail)
    expect(smoke.brand).toEqual([true, true])

    writeFileSync(join(scratch, 'check.ts'), TYPES)
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    )
    const listed = run(process.execPath, [own.resolve('typescript/bin/tsc'), '-p', '.', '--listFiles'], scratch)
    for (const entry of [
      'index',
      'playwright/index',
      'playwright/global-setup',
      'vitest/index',
      'vitest/global-setup',
    ]) {
      expect(listed).toContain(`node_modules/leakless/dist/${entry}.d.cts`)
    }
    expect(listed).not.toMatch(/node_modules\/leakless\/dist\/[\w/-]+\.d\.ts\b/)

    writeFileSync(join(scratch, 'playwright.config.ts'), PLAYWRIGHT_CONFIG)
    mkdirSync(join(scratch, 'tests'))
    writeFileSync(join(scratch, 'tests/smoke.spec.ts'), PLAYWRIGHT_SPEC)
    const output = run(process.execPath, [join(scratch, 'node_modules/@playwright/test/cli.js'), 'test'], scratch, {
      DATABASE_URL: inject('database').url,
      CI: '1',
      NO_COLOR: '1',
    })
    expect(output).toContain('2 passed')
    expect(output.match(/cjs spec email \S+\.cjs@example\.test/g)).toHaveLength(2)
  })
})
