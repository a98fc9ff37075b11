import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initCommand } from '../../src/cli/init-command.js'
import type { CliIo } from '../../src/cli/io.js'
import { connect, type Database } from '../../src/db/index.js'
import { createRun, isLeaklessError } from '../../src/index.js'
import { INIT_SCHEMA_DDL, INIT_SCHEMA_TABLES } from '../fixtures/init-schema.js'

const root = resolve(import.meta.dirname, '../..')
// Inside the repository, so the generated modules resolve 'leakless', drizzle-orm and the schemas.
const work = join(root, '.scratch', `init-${randomBytes(4).toString('hex')}`)
const referenceDir = join(work, 'reference')
const foreignDir = join(work, 'foreign')

function quietIo(): CliIo & { text: string[] } {
  const text: string[] = []
  return { text, out: (t) => text.push(t), err: (t) => text.push(t), env: {}, stdoutTTY: false, stderrTTY: false }
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('close', (code) => done({ code, output }))
  })
}

/** The real CLI from source, in `cwd`. */
const cli = (args: string[], cwd: string) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/index.ts'), ...args], cwd)

const count = async (db: Database, table: string, where = 'true', params: unknown[] = []) =>
  Number((await db.execute<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params))[0]!.n)

describe('leakless init', () => {
  let db: Database

  beforeAll(async () => {
    mkdirSync(referenceDir, { recursive: true })
    mkdirSync(foreignDir, { recursive: true })
    db = await connect()
    await db.execute('drop schema if exists init_shop, init_billing cascade')
    for (const statement of INIT_SCHEMA_DDL) await db.execute(statement)
  })

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true })
    await db?.execute('drop schema if exists init_shop, init_billing cascade')
    await db?.close()
  })

  it('writes the config, the factories and the Vitest config for two schemas; they type-check', async () => {
    const io = quietIo()
    expect(await initCommand({ schema: join(root, 'factories/schema.ts') }, io, referenceDir)).toBe(0)
    expect(io.text.join('\n')).toContain('4 of 4 tables got a factory')
    const foreignIo = quietIo()
    const code = await initCommand(
      { schema: '../../../test/fixtures/init-schema.ts', out: 'src/test-data/factories.ts', runner: 'both' },
      foreignIo,
      foreignDir,
    )
    expect(code).toBe(0)
    expect(foreignIo.text.join('\n')).toContain("globalSetup: 'leakless/playwright/global-setup'")

    const reference = readFileSync(join(referenceDir, 'test/factories.ts'), 'utf8')
    expect(reference).toContain("import * as schema from '../../../../factories/schema.js'")
    expect(reference).toMatch(
      /export const sessions = defineFactory\(schema\.sessions, \(f\) => \(\{\n {2}id: f\.id\(\),\n {2}userId: f\.ref\(users\),\n {2}token: f\.id\('token'\),/,
    )
    expect(reference).not.toMatch(/\n {2}role:|createdAt:|activity, \(f\) => \(\{\n {2}id:/)

    const foreign = readFileSync(join(foreignDir, 'src/test-data/factories.ts'), 'utf8')
    expect(foreign).toContain("import * as schema from '../../../../../test/fixtures/init-schema.js'")
    expect(foreign).toContain("email: f.email('account'),")
    expect(foreign).toContain("username: f.slug('account'),")
    expect(foreign).toContain("kind: 'personal' as const,")
    expect(foreign).toContain("'unit price': f.faker.finance.amount(),")
    expect(foreign).not.toMatch(/parentId|accounts, \(f\) => \(\{\n {2}id:|createdAt/)
    expect(readFileSync(join(foreignDir, 'leakless.config.ts'), 'utf8')).toContain(
      "schemas: ['init_billing', 'init_shop'],",
    )
    expect(readFileSync(join(foreignDir, 'vitest.config.ts'), 'utf8')).toContain("'leakless/vitest/global-setup'")

    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['**/*.ts'] }))
    const tsc = await run(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      work,
    )
    expect(tsc.output).toBe('')
    expect(tsc.code).toBe(0)
  })

  it('every generated factory creates a row on the real database; cleanup leaves zero rows', async () => {
    const ref = (await import(join(referenceDir, 'test/factories.ts'))) as { factories: Record<string, never> }
    const foreign = (await import(join(foreignDir, 'src/test-data/factories.ts'))) as {
      factories: Record<string, never>
    }
    expect(Object.keys(ref.factories)).toEqual(['users', 'activity', 'bookings', 'sessions'])
    expect(Object.keys(foreign.factories).sort()).toEqual(
      ['ProductCategories', 'accounts', 'invoiceLines', 'invoices', 'products'].sort(),
    )

    const before = await Promise.all(INIT_SCHEMA_TABLES.map((t) => count(db, t)))
    expect(before).toEqual([0, 0, 0, 0, 0])
    let closed = false
    const runContext = await createRun({ db, cleanup: { schemas: ['public', 'init_shop', 'init_billing'] } })
    try {
      const scope = runContext.scope('init factories')
      const created: Record<string, Record<string, unknown>> = {}
      for (const factories of [ref.factories, foreign.factories]) {
        const bound = scope.bind(factories) as Record<string, { create(): Promise<Record<string, unknown>> }>
        for (const [name, factory] of Object.entries(bound)) created[name] = await factory.create()
      }
      expect(Object.keys(created)).toHaveLength(9)
      // Refs create parents: an invoice line makes an invoice (and its account) and a product (and its category).
      expect(await Promise.all(INIT_SCHEMA_TABLES.map((t) => count(db, t)))).toEqual([3, 3, 2, 2, 1])

      const cleanup = await scope.cleanup()
      // 11 rows of the fixture's tables, 8 of the reference's (5 users: one each, two per booking).
      expect(cleanup.total).toBe(19)
      expect(await Promise.all(INIT_SCHEMA_TABLES.map((t) => count(db, t)))).toEqual([0, 0, 0, 0, 0])
      // The reference tables are shared with other suites: no row of this scope is left in any of them.
      const mine = 'starts_with(id, $1)'
      expect(await count(db, 'public.users', mine, [scope.prefix])).toBe(0)
      expect(await count(db, 'public.sessions', mine, [scope.prefix])).toBe(0)
      expect(await count(db, 'public.bookings', mine, [scope.prefix])).toBe(0)
      expect(await count(db, 'public.activity', 'id = $1', [created.activity!.id])).toBe(0)
      // Nothing for the worker's cleanup, and its audit finds nothing left.
      closed = true
      const report = await runContext.close()
      expect(report.clean).toBe(true)
      expect(report.cleanup.deleted).toEqual({})
    } finally {
      if (!closed) await runContext.close()
    }
  })

  it('refuses to overwrite a file (INIT_FILE_EXISTS, exit 2) unless --force', async () => {
    const config = join(foreignDir, 'leakless.config.ts')
    writeFileSync(config, '// mine\n')
    const error = await initCommand({ schema: '../../../test/fixtures/init-schema.ts' }, quietIo(), foreignDir).catch(
      (e: unknown) => e,
    )
    expect(isLeaklessError(error) && error.code).toBe('INIT_FILE_EXISTS')
    expect((error as Error).message).toContain('writes nothing: leakless.config.ts exists. Move it away')

    const refused = await cli(['init', '--schema', '../../../test/fixtures/init-schema.ts'], foreignDir)
    expect(refused.code).toBe(2)
    expect(refused.output).toContain('leakless: leakless init writes nothing: leakless.config.ts')
    expect(readFileSync(config, 'utf8')).toBe('// mine\n')

    const forced = await cli(['init', '--schema', '../../../test/fixtures/init-schema.ts', '--force'], foreignDir)
    expect(forced.code).toBe(0)
    expect(readFileSync(config, 'utf8')).toContain('defineConfig')
  })

  it('leaves an existing vitest.config.ts alone and prints the line it lacks', async () => {
    const dir = join(work, 'own-vitest-config')
    mkdirSync(dir, { recursive: true })
    const mine = "export default { test: { include: ['x/**'] } }\n"
    writeFileSync(join(dir, 'vitest.config.ts'), mine)
    const io = quietIo()
    expect(await initCommand({ schema: join(root, 'factories/schema.ts') }, io, dir)).toBe(0)
    expect(readFileSync(join(dir, 'vitest.config.ts'), 'utf8')).toBe(mine)
    expect(io.text.join('\n')).not.toContain('wrote vitest.config.ts')
    expect(io.text.join('\n')).toContain(
      "// vitest.config.ts, in test: { … }\nglobalSetup: ['leakless/vitest/global-setup'],",
    )

    writeFileSync(
      join(dir, 'vitest.config.ts'),
      "export default { test: { globalSetup: ['leakless/vitest/global-setup'] } }\n",
    )
    const again = quietIo()
    expect(await initCommand({ schema: join(root, 'factories/schema.ts'), force: true }, again, dir)).toBe(0)
    expect(again.text.join('\n')).not.toContain('// vitest.config.ts, in test')
  })

  it("without --schema, reads the schema of drizzle-kit's drizzle.config.ts", async () => {
    const dir = join(work, 'drizzle-kit')
    mkdirSync(join(dir, 'drizzle', 'meta'), { recursive: true })
    writeFileSync(join(dir, 'drizzle', 'meta', '_journal.json'), '{}')
    writeFileSync(join(dir, 'drizzle.config.ts'), "export default { dialect: 'postgresql', schema: './src/**/*.ts' }\n")
    const globbed = await initCommand({}, quietIo(), dir).catch((e: unknown) => e)
    expect(isLeaklessError(globbed) && globbed.code).toBe('INIT_SCHEMA_MISSING')
    expect((globbed as Error).message).toContain('drizzle.config.ts names no single schema file')

    writeFileSync(
      join(dir, 'drizzle.config.ts'),
      "export default { dialect: 'postgresql', schema: '../../../factories/schema.ts' }\n",
    )
    const io = quietIo()
    expect(await initCommand({ runner: 'playwright' }, io, dir)).toBe(0)
    expect(io.text.join('\n')).toContain('4 of 4 tables got a factory (from ../../../factories/schema.ts)')
    expect(readFileSync(join(dir, 'leakless.config.ts'), 'utf8')).toContain("migrations: './drizzle',")
    expect(io.text.join('\n')).not.toContain('vitest')
    expect(io.text.join('\n')).toContain("import { leaklessTest } from 'leakless/playwright'")
  })

  it('bad input exits 2 with what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['init', '--runner', 'jest'], /--runner "jest" is not a runner\. Use vitest, playwright, both/],
      [['init', '--schema', 'a.ts', '--schema', 'b.ts'], /--schema is given 2 times/],
      [['init', '--schema', 'missing.ts'], /Schema module .*missing\.ts does not exist/],
      [['init', '--schema', join(root, 'src/ids/id-format.ts')], /exports no drizzle PostgreSQL table/],
      [['init'], /needs your drizzle schema module, and there is no drizzle\.config\.ts here/],
      [['init', '--force=yes'], /--force takes no value/],
      [['init', '--out'], /--out needs a value/],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(args, referenceDir)))
    results.forEach((result, i) => {
      expect(result.output).toMatch(cases[i]![1])
      expect(result.code).toBe(2)
    })
  })
})
