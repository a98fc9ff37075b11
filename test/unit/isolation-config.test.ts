import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkConfig, loadConfig } from '../../src/config/index.js'
import { isLeaklessError } from '../../src/index.js'
import { leaklessTest as playwrightTest } from '../../src/playwright/fixtures.js'
import { checkPlaywrightIsolation } from '../../src/playwright/isolation.js'
import { createRunSync } from '../../src/run/run-context.js'
import { formatFailedTest } from '../../src/vitest/failure-report.js'
import { checkResolvedIsolation, isolationAtDefinition } from '../../src/vitest/isolation.js'

const dir = mkdtempSync(join(tmpdir(), 'leakless-isolation-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function thrown(fn: () => unknown): { code: unknown; message: string } {
  try {
    fn()
  } catch (error) {
    return { code: isLeaklessError(error) ? error.code : error, message: (error as Error).message }
  }
  throw new Error('expected a throw')
}

describe('isolation in leakless.config.ts', () => {
  it("takes 'shared' and 'transaction', and is absent by default (shared)", async () => {
    expect(checkConfig({ isolation: 'shared' }, null)).toEqual({ isolation: 'shared' })
    expect(checkConfig({ isolation: 'transaction' }, null)).toEqual({ isolation: 'transaction' })
    writeFileSync(join(dir, 'package.json'), '{}')
    writeFileSync(join(dir, 'leakless.config.ts'), `export default { isolation: 'transaction' as const }\n`)
    expect((await loadConfig({ cwd: dir, env: {} })).isolation).toBe('transaction')
    expect((await loadConfig({ cwd: dir, env: {}, overrides: { isolation: 'shared' } })).isolation).toBe('shared')
    expect(isolationAtDefinition(undefined)).toBe('shared')
  })

  it('refuses anything else with CONFIG_INVALID naming the allowed values', () => {
    for (const value of ['rollback', 'Transaction', 1, null]) {
      const error = thrown(() => checkConfig({ isolation: value }, '/p/leakless.config.ts'))
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.message).toMatch(
        /^Option "isolation" in \/p\/leakless\.config\.ts is .+; expected 'shared'.* 'transaction'/,
      )
    }
    // leaklessTest({ config }) of leakless/vitest checks it when the test is defined.
    expect(thrown(() => isolationAtDefinition({ isolation: 'nested' as never })).code).toBe('CONFIG_INVALID')
    expect(isolationAtDefinition({ isolation: 'transaction' })).toBe('transaction')
  })

  it('a config file read after the fixtures were built for another mode is ISOLATION_UNSUPPORTED', () => {
    const file = join(dir, 'leakless.config.ts')
    checkResolvedIsolation({ file, isolation: 'transaction' }, 'transaction')
    checkResolvedIsolation({ file: null }, 'shared')
    const error = thrown(() => checkResolvedIsolation({ file, isolation: 'transaction' }, 'shared'))
    expect(error.code).toBe('ISOLATION_UNSUPPORTED')
    expect(error.message).toContain(`${file} sets isolation: 'transaction'`)
    expect(error.message).toContain("leaklessTest({ config: { isolation: 'transaction' } })")
  })
})

describe("leakless/playwright with isolation: 'transaction'", () => {
  it('is refused when the test is defined, saying why and what to use', () => {
    const error = thrown(() => playwrightTest({ config: { isolation: 'transaction' } }))
    expect(error.code).toBe('ISOLATION_UNSUPPORTED')
    expect(error.message).toContain(
      "isolation: 'transaction' (leaklessTest({ config })) cannot work in leakless/playwright",
    )
    expect(error.message).toContain(
      'the app server, which reads through its own connections, cannot see uncommitted rows',
    )
    expect(error.message).toContain("Use isolation: 'shared'")
    // 'shared', or nothing, defines the test.
    expect(typeof playwrightTest({ config: { isolation: 'shared' } })).toBe('function')
    expect(typeof playwrightTest({})).toBe('function')
  })

  it("is refused in the worker when leakless.config.ts sets it (the worker's setup path)", () => {
    const file = join(dir, 'leakless.config.ts')
    const error = thrown(() => checkPlaywrightIsolation({ isolation: 'transaction' }, file))
    expect(error.code).toBe('ISOLATION_UNSUPPORTED')
    expect(error.message).toContain(`isolation: 'transaction' (${file}) cannot work`)
    checkPlaywrightIsolation({ isolation: 'shared' }, file)
    checkPlaywrightIsolation({}, file)
  })
})

describe("a failed test under isolation: 'transaction'", () => {
  it('says its rows were rolled back with its transaction', () => {
    const run = createRunSync({ stateDir: dir, worker: 1 })
    const scope = run.scope('fails')
    const id = scope.id()
    scope.ledger.record([
      {
        table: 'public.users',
        key: { id },
        tag: id,
        tagColumns: ['id'],
        scope: 1,
        test: 'fails',
        caller: null,
        factory: 'users',
        at: new Date(),
      },
    ])
    const where = { file: 'a.test.ts', test: 'fails' }
    expect(formatFailedTest(scope, true, where, 'rollback')).toContain(
      `rows its factories created (in the test's transaction, rolled back):\n    public.users (1)\n      id=${id}`,
    )
    expect(formatFailedTest(scope, true, where)).toContain('rows its factories created (its cleanup deleted them):')
  })
})
