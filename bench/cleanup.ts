/**
 * Cleanup of a graph (100 users, 200 sessions, 300 bookings, 300 activity rows) against hand-written
 * optimal deletes and TRUNCATE … CASCADE; and a typical test's rows created and cleaned 200 times
 * against the same work in a transaction that is rolled back. Runs in a private copy of the
 * reference tables (the TRUNCATE contender never touches the real ones).
 */
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { connect, ensureSchema, type Database } from '../src/db/index.js'
import { cleanupPrefix, createRun, type RunContext } from '../src/index.js'
import { median, printTable, writeResult } from './lib/measure.js'

const GRAPH_ROUNDS = 11
const PER_TEST_ROUNDS = 200
const schema = `bench_${randomBytes(4).toString('hex')}`
const T = (name: string) => `${schema}.${name}`

const DDL = [
  `create schema ${schema}`,
  `create table ${T('users')} (like public.users including all)`,
  `create table ${T('sessions')} (like public.sessions including all, foreign key (user_id) references ${T('users')} (id) on delete cascade)`,
  `create table ${T('bookings')} (like public.bookings including all, foreign key (parent_id) references ${T('users')} (id), foreign key (instructor_id) references ${T('users')} (id))`,
  `create table ${T('activity')} (id bigserial primary key, user_id text not null references ${T('users')} (id), action text not null, created_at timestamptz not null default now())`,
]

/** Inserts users, sessions, bookings and activity for a prefix; returns their ids. */
async function insertGraph(
  exec: (text: string, params: unknown[]) => Promise<unknown>,
  prefix: string,
  counts: { users: number; sessions: number; bookings: number; activity: number },
) {
  const users = Array.from({ length: counts.users }, (_, i) => `${prefix}u${i}`)
  const sessions = Array.from({ length: counts.sessions }, (_, i) => `${prefix}s${i}`)
  const bookings = Array.from({ length: counts.bookings }, (_, i) => `${prefix}b${i}`)
  await exec(
    `insert into ${T('users')} (id, email, name, role) select id, id || '@example.test', 'N', 'parent' from unnest($1::text[]) id`,
    [users],
  )
  await exec(
    `insert into ${T('sessions')} (id, user_id, token, expires_at) select id, ($2::text[])[1 + (n - 1) % cardinality($2::text[])], id, now() + interval '1 day' from unnest($1::text[]) with ordinality as s(id, n)`,
    [sessions, users],
  )
  await exec(
    `insert into ${T('bookings')} (id, parent_id, instructor_id, scheduled_at, amount_cents) select id, ($2::text[])[1 + (n - 1) % cardinality($2::text[])], ($2::text[])[1 + n % cardinality($2::text[])], now() + n * interval '1 hour', 100 from unnest($1::text[]) with ordinality as b(id, n)`,
    [bookings, users],
  )
  await exec(
    `insert into ${T('activity')} (user_id, action) select ($1::text[])[1 + (n - 1) % cardinality($1::text[])], 'x' from generate_series(1, $2::int) n`,
    [users, counts.activity],
  )
  return { users, sessions, bookings }
}

const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

export async function run(): Promise<boolean> {
  const db: Database = await connect()
  const options = { schemas: [schema] }
  let leakless: RunContext | undefined
  try {
    // The private tables copy the reference ones: apply its migrations first (fresh database).
    await ensureSchema(db, { migrationsFolder: fileURLToPath(new URL('../factories/migrations', import.meta.url)) })
    for (const statement of DDL) await db.execute(statement)
    leakless = await createRun({ db, cleanup: options })
    const graph = { users: 100, sessions: 200, bookings: 300, activity: 300 }
    const times: Record<string, number[]> = { leakless: [], handWritten: [], truncate: [] }
    for (let round = 0; round < GRAPH_ROUNDS + 1; round++) {
      // leakless: one data-modifying CTE by prefix, with the FK closure (activity is untagged)
      const scope = leakless.scope(`graph ${round}`)
      await insertGraph((t, p) => db.execute(t, p), scope.prefix, graph)
      let start = process.hrtime.bigint()
      const report = await cleanupPrefix(db, scope.prefix, options)
      if (round > 0) times.leakless!.push(elapsed(start))
      if (report.total !== 900) throw new Error(`cleanup deleted ${report.total} rows, expected 900`)

      // hand-written: knows every id, children first, in one transaction
      const hand = leakless.scope(`hand ${round}`)
      const ids = await insertGraph((t, p) => db.execute(t, p), hand.prefix, graph)
      start = process.hrtime.bigint()
      await db.transaction(async (exec) => {
        await exec(`delete from ${T('activity')} where user_id = any($1)`, [ids.users])
        await exec(`delete from ${T('bookings')} where id = any($1)`, [ids.bookings])
        await exec(`delete from ${T('sessions')} where id = any($1)`, [ids.sessions])
        await exec(`delete from ${T('users')} where id = any($1)`, [ids.users])
      })
      if (round > 0) times.handWritten!.push(elapsed(start))

      // TRUNCATE … CASCADE of the same (private) tables
      await insertGraph((t, p) => db.execute(t, p), leakless.scope(`truncate ${round}`).prefix, graph)
      start = process.hrtime.bigint()
      await db.execute(`truncate ${T('activity')}, ${T('bookings')}, ${T('sessions')}, ${T('users')} cascade`)
      if (round > 0) times.truncate!.push(elapsed(start))
    }

    // Per test: 1 parent, 1 instructor, 2 sessions, 3 bookings, 2 activity rows
    const typical = { users: 2, sessions: 2, bookings: 3, activity: 2 }
    const perTest: Record<string, number[]> = { createAndCleanup: [], discovering: [], rollback: [] }
    const rollback = new Error('rollback')
    for (let i = 0; i < PER_TEST_ROUNDS + 20; i++) {
      const scope = leakless.scope(`test ${i}`)
      let start = process.hrtime.bigint()
      await insertGraph((t, p) => db.execute(t, p), scope.prefix, typical)
      await cleanupPrefix(db, scope.prefix, options)
      if (i >= 20) perTest.createAndCleanup!.push(elapsed(start))

      // scope.cleanup() after the test handed a value out (an e-mail for a sign-up form): it also looks
      // for that value in text columns nobody named, on a second connection, while it deletes.
      const handing = leakless.scope(`hands out ${i}`)
      handing.email('signup')
      start = process.hrtime.bigint()
      await insertGraph((t, p) => db.execute(t, p), handing.prefix, typical)
      await handing.cleanup()
      if (i >= 20) perTest.discovering!.push(elapsed(start))

      const other = leakless.scope(`rollback ${i}`)
      start = process.hrtime.bigint()
      await db
        .transaction(async (exec) => {
          await insertGraph(exec, other.prefix, typical)
          throw rollback
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error
        })
      if (i >= 20) perTest.rollback!.push(elapsed(start))
    }

    const ms = Object.fromEntries(Object.entries({ ...times, ...perTest }).map(([k, v]) => [k, median(v)]))
    const vsHandWritten = ms.leakless! / ms.handWritten!
    const vsTruncate = ms.leakless! / ms.truncate!
    const perTestVsRollback = ms.createAndCleanup! / ms.rollback!
    const discoveringVsRollback = ms.discovering! / ms.rollback!
    printTable(
      `cleanup: graph of 900 rows, median of ${GRAPH_ROUNDS} rounds (${db.driver}, ${db.target.host}:${db.target.port}/${db.target.database})`,
      [
        { contender: 'leakless cleanup (prefix + FK closure)', 'median ms': ms.leakless!, ratio: 1 },
        {
          contender: 'hand-written deletes (ids known)',
          'median ms': ms.handWritten!,
          ratio: ms.handWritten! / ms.leakless!,
        },
        { contender: 'TRUNCATE … CASCADE', 'median ms': ms.truncate!, ratio: ms.truncate! / ms.leakless! },
      ],
    )
    printTable(`per test: 9 rows created and removed, median of ${PER_TEST_ROUNDS}`, [
      { contender: 'create + leakless cleanup', 'median ms': ms.createAndCleanup!, ratio: 1 },
      {
        contender: 'create + scope.cleanup() with discovery',
        'median ms': ms.discovering!,
        ratio: ms.discovering! / ms.createAndCleanup!,
      },
      {
        contender: 'create in a rolled-back transaction',
        'median ms': ms.rollback!,
        ratio: ms.rollback! / ms.createAndCleanup!,
      },
    ])
    const result = writeResult(
      'cleanup',
      { medianMs: ms },
      { vsHandWritten, vsTruncate, perTestVsRollback, discoveringVsRollback },
      { vsHandWritten: '<= 1.3', perTestVsRollback: '<= 1.5' },
      cpus().length,
    )
    console.log(
      `\nratios.vsHandWritten = ${vsHandWritten.toFixed(3)} (target <= 1.3), ratios.vsTruncate = ${vsTruncate.toFixed(3)} (reported), ratios.perTestVsRollback = ${perTestVsRollback.toFixed(3)} (target <= 1.5), ratios.discoveringVsRollback = ${discoveringVsRollback.toFixed(3)} (reported): ${result.pass ? 'pass' : 'FAIL'}`,
    )
    return result.pass
  } finally {
    await db.execute(`drop schema if exists ${schema} cascade`)
    await db.close()
  }
}
