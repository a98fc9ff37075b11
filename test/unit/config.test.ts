import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkConfig, findConfigFile, loadConfig } from '../../src/config/index.js'
import { cleanupOptionsOf, connectOptionsOf } from '../../src/lifecycle/config-options.js'
import { isLeaklessError } from '../../src/index.js'

const dirs: string[] = []
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakless-config-'))
  dirs.push(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const codeOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  return isLeaklessError(error) ? error.code : error
}

describe('leakless.config.ts', () => {
  it('is read as TypeScript, with paths relative to its folder', async () => {
    const dir = project({
      'package.json': '{}',
      'leakless.config.ts': `const domain: string = 'school.test'\nexport default { migrations: './db/migrations', emailDomain: domain, onLeak: 'warn' as const }\n`,
    })
    const config = await loadConfig({ cwd: join(dir, 'e2e', 'deep'), env: {} })
    expect(config).toEqual({
      migrations: join(dir, 'db', 'migrations'),
      emailDomain: 'school.test',
      onLeak: 'warn',
      file: join(dir, 'leakless.config.ts'),
    })
  })

  it('is searched up to the folder with package.json, not beyond', () => {
    const outer = project({ 'leakless.config.ts': 'export default {}', 'app/package.json': '{}' })
    expect(findConfigFile(join(outer, 'app'))).toBeNull()
    expect(findConfigFile(outer)).toBe(join(outer, 'leakless.config.ts'))
  })

  it('is overridden by options given in code', async () => {
    const dir = project({
      'package.json': '{}',
      'leakless.config.mjs': `export default { onLeak: 'warn', emailDomain: 'a.test' }`,
    })
    const config = await loadConfig({ cwd: dir, env: {}, overrides: { onLeak: 'fail' } })
    expect(config.onLeak).toBe('fail')
    expect(config.emailDomain).toBe('a.test')
  })

  it('comes from LEAKLESS_CONFIG when set, and a missing file there is an error', async () => {
    const dir = project({ 'package.json': '{}', 'ci/leakless.ci.ts': `export default { sweep: false }` })
    expect((await loadConfig({ cwd: dir, env: { LEAKLESS_CONFIG: 'ci/leakless.ci.ts' } })).sweep).toBe(false)
    expect(await codeOf(loadConfig({ cwd: dir, env: { LEAKLESS_CONFIG: 'nope.ts' } }))).toBe('CONFIG_NOT_FOUND')
  })

  it('is the overrides alone when there is no file', async () => {
    const dir = project({ 'package.json': '{}' })
    expect(await loadConfig({ cwd: dir, env: {}, overrides: { schemas: ['app'] } })).toEqual({
      schemas: ['app'],
      file: null,
    })
  })

  it('reports a file that does not load, and options that are wrong, with the key and what is expected', async () => {
    const broken = project({ 'package.json': '{}', 'leakless.config.ts': 'export default {' })
    expect(await codeOf(loadConfig({ cwd: broken, env: {} }))).toBe('CONFIG_LOAD_FAILED')

    const unknown = project({ 'package.json': '{}', 'leakless.config.ts': 'export default { onleak: "warn" }' })
    await expect(loadConfig({ cwd: unknown, env: {} })).rejects.toThrow(
      /Unknown option "onleak".*Known options: .*onLeak/,
    )

    expect(() => checkConfig({ sweep: { olderThan: '1 hour' } }, null)).toThrow(
      /Option "sweep" in the options given in code is .*expected false or \{ olderThan: '1h' \}/,
    )
    expect(() => checkConfig({ databaseUrl: 'mysql://x' }, 'f.ts')).toThrow(/"databaseUrl" in f.ts .*postgres:\/\//)
    expect(() => checkConfig({ nullableDependents: { 'public.notes': 'drop' } }, null)).toThrow(
      /'fail' \| 'detach' \| 'delete'/,
    )
    expect(() => checkConfig([], null)).toThrow(/does not export a configuration object/)
    expect(checkConfig({ isolation: 'schema' }, null)).toEqual({ isolation: 'schema' })
    expect(checkConfig({ isolation: 'database' }, null)).toEqual({ isolation: 'database' })
    expect(() => checkConfig({ isolation: 'databases' }, 'f.ts')).toThrow(
      /Option "isolation" in f.ts is "databases"; expected 'shared', 'transaction', 'schema' or 'database'/,
    )
    expect(checkConfig({ cleanup: 'background' }, null)).toEqual({ cleanup: 'background' })
    expect(checkConfig({ cleanup: 'after-each' }, null)).toEqual({ cleanup: 'after-each' })
    expect(() => checkConfig({ cleanup: 'afterEach' }, 'f.ts')).toThrow(
      /Option "cleanup" in f.ts is "afterEach"; expected 'after-each' or 'background'/,
    )
    // found by test/reliability/bad-input.test.ts: TypeErrors instead of CONFIG_INVALID
    expect(() => checkConfig({ schemas: ['public', ''] }, null)).toThrow(/Option "schemas" .*expected \['public'\]/)
    for (const key of ['__proto__', 'toString', 'constructor']) {
      const config = JSON.parse(`{ "${key}": 1 }`) as object
      expect(() => checkConfig(config, null), key).toThrow(new RegExp(`Unknown option "${key}"`))
    }
    for (const embedded of [
      { dataDir: Symbol('dir') },
      { dataDir: 5 },
      { dataDir: '' },
      { database: {} },
      { port: 1 },
    ]) {
      const error = await loadConfig({
        cwd: project({ 'package.json': '{}' }),
        env: {},
        overrides: { embedded } as never,
      }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(isLeaklessError(error) && error.code, JSON.stringify(embedded)).toBe('CONFIG_INVALID')
    }
  })

  it('turns into the options of connect() and of cleanup', () => {
    const config = {
      databaseUrl: 'postgres://u@127.0.0.1/app_test',
      tagColumns: { 'public.users': ['email'] },
      nullableDependents: { 'public.notes': 'detach' as const },
      allow: { remote: true, databases: ['qa'] },
    }
    expect(connectOptionsOf(config)).toEqual({ url: 'postgres://u@127.0.0.1/app_test' })
    expect(cleanupOptionsOf(config)).toEqual({
      tagColumns: { 'public.users': ['email'] },
      nullableDependents: { 'public.notes': 'detach' },
      guard: { allowRemote: true, allowDatabases: ['qa'] },
    })
  })
})
