/**
 * Cleanup of a graph (100 users, 200 sessions, 300 bookings, 300 activity rows the app wrote, untagged)
 * by leakless against hand-written deletes that know every id, and against TRUNCATE … CASCADE (reported).
 * Runs in a private copy of the reference tables (the TRUNCATE contender never touches the real ones),
 * dropped at the end; contenders interleaved, their order rotating every round. One test's create +
 * cleanup is `npm run bench -- per-test`.
 */
import { randomBytes } from 'node:crypto'
import { cleanupPrefix, createRun, type RunContext } from '../src/index.js'
import { describeDb, openBase, serverVersion } from './lib/database.js'
import { interleave, medians, printTable, writeResult } from './lib/measure.js'

const ROUNDS = 15
const WARMUP = 2
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

const GRAPH = { users: 100, sessions: 200, bookings: 300, activity: 300 }

export async function run(): Promise<boolean> {
  const { base: db } = await openBase()
  const options = { schemas: [schema] }
  let leakless: RunContext | undefined
  try {
    for (const statement of DDL) await db.execute(statement)
    const version = await serverVersion(db)
    leakless = await createRun({ db, cleanup: options })
    const run = leakless
    const insert = (prefix: string) => insertGraph((t, p) => db.execute(t, p), prefix, GRAPH)
    let round = 0
    let prefix = ''
    let ids: Awaited<ReturnType<typeof insert>> | null = null
    const contenders: Record<string, () => Promise<unknown>> = {
      // one data-modifying statement by prefix, with the FK closure (activity is untagged)
      leakless: async () => {
        const report = await cleanupPrefix(db, prefix, options)
        if (report.total !== 900) throw new Error(`cleanup deleted ${report.total} rows, expected 900`)
      },
      // knows every id, children first, in one transaction
      handWritten: () =>
        db.transaction(async (exec) => {
          await exec(`delete from ${T('activity')} where user_id = any($1)`, [ids!.users])
          await exec(`delete from ${T('bookings')} where id = any($1)`, [ids!.bookings])
          await exec(`delete from ${T('sessions')} where id = any($1)`, [ids!.sessions])
          await exec(`delete from ${T('users')} where id = any($1)`, [ids!.users])
        }),
      truncate: () =>
        db.execute(`truncate ${T('activity')}, ${T('bookings')}, ${T('sessions')}, ${T('users')} cascade`),
    }
    const ms = medians(
      await interleave(contenders, {
        rounds: ROUNDS,
        warmup: WARMUP,
        before: async (name) => {
          prefix = run.scope(`${name} ${round++}`).prefix
          ids = await insert(prefix)
        },
      }),
    )
    const vsHandWritten = ms.leakless! / ms.handWritten!
    const vsTruncate = ms.leakless! / ms.truncate!
    printTable(`cleanup: graph of 900 rows, median of ${ROUNDS} interleaved rounds (${describeDb(db)})`, [
      { contender: 'leakless cleanup (prefix + FK closure)', 'median ms': ms.leakless!, ratio: 1 },
      { contender: 'hand-written deletes (ids known)', 'median ms': ms.handWritten!, ratio: 1 / vsHandWritten },
      { contender: 'TRUNCATE … CASCADE', 'median ms': ms.truncate!, ratio: 1 / vsTruncate },
    ])
    return writeResult({
      name: 'cleanup',
      config: { graph: GRAPH, rounds: ROUNDS, warmup: WARMUP, server: `PostgreSQL ${version}`, driver: db.driver },
      metrics: { medianMs: ms },
      ratios: { vsHandWritten, vsTruncate },
      targets: { vsHandWritten: '<= 1.2' },
      labels: {
        vsHandWritten: 'cleanup of a 900-row graph vs hand-written deletes with known ids',
        vsTruncate: 'cleanup of a 900-row graph vs TRUNCATE … CASCADE',
      },
    }).pass
  } finally {
    await leakless?.close().catch(() => {})
    await db.execute(`drop schema if exists ${schema} cascade`)
    await db.close()
  }
}
