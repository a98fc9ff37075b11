/**
 * `npm run demo`, the main job, against a database whose tables already hold rows that are not the
 * demo's: they come out byte-identical, no row of the demo's run is left, and the report says so;
 * with `--leak` the audit catches the late write, names table, row and test, and the demo exits 1.
 * (On a fresh clone with no DATABASE_URL, `.ci/run` runs it on the embedded PostgreSQL.)
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { repoRoot, run } from '../adapters/harness.js'
import { countOwnedRows } from './harness.js'

const url = inject('database').url
const tsx = join(repoRoot, 'node_modules/tsx/dist/cli.mjs')
const marker = `foreign-demo-${randomBytes(4).toString('hex')}`
const sql = postgres(url, { max: 1, onnotice: () => {} })

/** A checksum of every foreign row this file planted, in all four tables. */
async function foreignChecksum(): Promise<string> {
  const [row] = await sql<Array<{ sum: string }>>`
    select md5(string_agg(r, '|' order by r)) as sum from (
      select row_to_json(u)::text as r from users u where starts_with(u.id, ${marker})
      union all select row_to_json(s)::text from sessions s where starts_with(s.id, ${marker})
      union all select row_to_json(b)::text from bookings b where starts_with(b.id, ${marker})
      union all select row_to_json(a)::text from activity a where starts_with(a.user_id, ${marker})
    ) rows`
  return row!.sum
}

beforeAll(async () => {
  // Rows of someone else: an instructor with a booking, a parent with a session and activity.
  await sql`insert into users (id, email, name, role) values
    (${`${marker}-parent`}, ${`${marker}-parent@example.com`}, 'Foreign Parent', 'parent'),
    (${`${marker}-teacher`}, ${`${marker}-teacher@example.com`}, 'Foreign Teacher', 'instructor')`
  await sql`insert into sessions (id, user_id, token, expires_at) values
    (${`${marker}-session`}, ${`${marker}-parent`}, ${marker}, now() + interval '1 day')`
  await sql`insert into bookings (id, parent_id, instructor_id, scheduled_at, status, amount_cents) values
    (${`${marker}-booking`}, ${`${marker}-parent`}, ${`${marker}-teacher`}, now() + interval '30 days', 'confirmed', 4500)`
  await sql`insert into activity (user_id, action) values (${`${marker}-parent`}, 'foreign')`
})

afterAll(async () => {
  await sql`delete from activity where starts_with(user_id, ${marker})`
  await sql`delete from bookings where starts_with(id, ${marker})`
  await sql`delete from sessions where starts_with(id, ${marker})`
  await sql`delete from users where starts_with(id, ${marker})`
  await sql.end()
})

const demo = (args: string[]) =>
  run(process.execPath, [tsx, 'examples/demo.ts', ...args], {
    cwd: repoRoot,
    env: { DATABASE_URL: url },
    timeoutMs: 180_000,
  })
const runTagOf = (output: string) => /^run tag +(\S+)$/m.exec(output)?.[1]

test('npm run demo: every suite passes, 0 leaks, foreign rows byte-identical, nothing of the run left', async () => {
  const before = await foreignChecksum()
  const result = await demo([])
  expect(result.output).toMatch(/^Vitest +\d+ passed, 0 failed \(exit 0\)$/m)
  expect(result.output).toMatch(/^Playwright +\d+ passed, 0 failed \(exit 0\)$/m)
  expect(result.output).toMatch(/^leaks found +0$/m)
  expect(result.output).toMatch(/^public\.activity +\d+ +0 +\d+ +\d+ +0$/m) // activity: all by the app, none left
  expect(result.output).toContain('leakless demo: every test passed, every row it made is gone.')
  expect(result.code, result.output).toBe(0)
  expect(await foreignChecksum()).toBe(before)
  const runTag = runTagOf(result.output)
  expect(runTag).toMatch(/^[0-9a-z]{14}$/)
  expect(await countOwnedRows(url, `${runTag}-`)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
})

test('npm run demo -- --leak: the audit catches the late write and names table, row and test; exit 1', async () => {
  const before = await foreignChecksum()
  const result = await demo(['--leak'])
  expect(result.output).toMatch(/^leaks found +1$/m)
  expect(result.output).toMatch(/^ {2}public\.users \(1 row\)$/m)
  expect(result.output).toContain(
    'test "leaky/late-write.leak.ts > signs a user up and forgets a timer that writes after the test"',
  )
  expect(result.output).toMatch(/email=[0-9a-z-]+\.late@example\.test/)
  // The app wrote it, not the factory the test called: no factory's file:line for it.
  expect(result.output).toMatch(/email=[0-9a-z-]+\.late@example\.test +w\d+ p\d+ +written outside a factory/)
  expect(result.output).toContain('leakless demo: the audit caught a leak (exit 1).')
  expect(result.code).toBe(1)
  expect(await foreignChecksum()).toBe(before)
  expect(await countOwnedRows(url, `${runTagOf(result.output)}-`)).toEqual({
    users: 0,
    sessions: 0,
    bookings: 0,
    activity: 0,
  })
})
