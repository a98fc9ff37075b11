/**
 * The leak audit and the sweep beside other people's rows: `users` with 100 rows of the run (from the
 * factories, still in the ledger) and first nothing else, then 1 000 000 rows not ours, without and then
 * with the recommended prefix indexes (`text_pattern_ops` on `users.id` and `users.email`, as in the
 * reference migrations). Measured: `audit({ runTag, ledger })` as a worker's close runs it,
 * `audit({ runTag })` (a whole run, e.g. from the CLI), a dry-run sweep (one dead process of another run
 * with 5 rows), and the raw indexed prefix query that finds the run's users as the floor; the statements
 * each sends. Runs in a database of its own, created from scratch and dropped at the end.
 */
import { randomBytes } from 'node:crypto'
import { factories } from '../factories/index.js'
import { ensureSchema, invalidateSchema, type Database } from '../src/db/index.js'
import { audit, createRun, createRunTag, likePrefix, sweep, type RunContext } from '../src/index.js'
import { registerProcess } from '../src/registry/registry.js'
import { createRunSync } from '../src/run/index.js'
import { MIGRATIONS, openBase, openCounted, serverVersion, type CountedDatabase } from './lib/database.js'
import { interleave, medians, printTable, writeResult } from './lib/measure.js'

const FOREIGN_ROWS = Number(process.env.LEAKLESS_BENCH_FOREIGN_ROWS ?? 1_000_000)
const OURS = 100
const CPU_CALLS = 5
const database = `bench_audit_test_${randomBytes(4).toString('hex')}`
const INDEXES = [
  'create index users_id_prefix_idx on users (id text_pattern_ops)',
  'create index users_email_prefix_idx on users (email text_pattern_ops)',
]

type Stage = 'small' | 'noIndex' | 'index'
const STAGES: Record<Stage, { title: string; rounds: number }> = {
  small: { title: `${OURS} rows (the run's only), prefix indexes`, rounds: 11 },
  noIndex: { title: `+ ${FOREIGN_ROWS.toLocaleString('en-US')} foreign rows, no prefix index`, rounds: 5 },
  index: { title: `+ ${FOREIGN_ROWS.toLocaleString('en-US')} foreign rows, prefix indexes`, rounds: 11 },
}

interface Measured {
  ms: Record<string, number>
  statements: Record<string, number>
  clientCpuMs: Record<string, number>
}

async function measureStage(counted: CountedDatabase, run: RunContext, rounds: number): Promise<Measured> {
  const { db } = counted
  invalidateSchema(db) // indexes changed: discovery reads them from the catalog
  await db.execute('analyze users')
  const contenders: Record<string, () => Promise<unknown>> = {
    'audit({ runTag, ledger })': async () => {
      const report = await audit({ db, runTag: run.runTag, ledger: run.ledger.entries })
      if (report.tables['public.users'] !== OURS) throw new Error(`audit found ${JSON.stringify(report.tables)}`)
    },
    'audit({ runTag })': () => audit({ db, runTag: run.runTag }),
    'sweep, dry run': async () => {
      const report = await sweep({ db, dryRun: true, olderThanMs: 0, exceptRunTag: run.runTag })
      if (report.swept.length !== 1) throw new Error(`the sweep found ${report.swept.length} dead processes, not 1`)
    },
    'raw prefix query': async () => {
      const rows = await db.execute('select id from users where id like $1', [likePrefix(`${run.runTag}-`)])
      if (rows.length !== OURS) throw new Error(`the raw query found ${rows.length} rows`)
    },
  }
  const ms = medians(await interleave(contenders, { rounds, warmup: 2 }))
  const statements: Record<string, number> = {}
  // Untimed: one call's statements, and this process's CPU time per call over CPU_CALLS (the client's share).
  const clientCpuMs: Record<string, number> = {}
  for (const [name, fn] of Object.entries(contenders)) {
    counted.reset()
    await fn()
    statements[name] = counted.statements()
    if (process.env.LEAKLESS_BENCH_PROFILE) console.log(`\n${name}:\n  ${counted.texts().join('\n  ')}`)
    const cpu = process.cpuUsage()
    for (let i = 0; i < CPU_CALLS; i++) await fn()
    const used = process.cpuUsage(cpu)
    clientCpuMs[name] = (used.user + used.system) / 1000 / CPU_CALLS
  }
  return { ms, statements, clientCpuMs }
}

/** A dead process of an old run, registered, with 5 users of its own: what the sweep finds. */
async function deadProcess(db: Database): Promise<void> {
  const runTag = createRunTag(Date.now() - 2 * 3600_000)
  const dead = createRunSync({ runTag, worker: 1, pid: 1 })
  await registerProcess(db, { ...dead, runStartedAt: dead.startedAt, tagColumns: [] })
  await db.execute(
    `insert into users (id, email, name, role) select $1 || n, $1 || n || '@example.test', 'x', 'parent' from generate_series(1, 5) n`,
    [dead.scope('left rows').prefix],
  )
}

export async function run(): Promise<boolean> {
  const { base, url } = await openBase()
  await base.execute(`create database ${database}`)
  let counted: CountedDatabase | undefined
  let leakless: RunContext | undefined
  const stages = {} as Record<Stage, Measured>
  let version: string | undefined
  try {
    counted = await openCounted(url, database)
    const { db } = counted
    version = await serverVersion(db)
    await ensureSchema(db, { migrationsFolder: MIGRATIONS })
    leakless = await createRun({ db, factories })
    await leakless.scope('the run').bind(factories).users.createList(OURS)
    await deadProcess(db)

    const stage = async (name: Stage) => {
      stages[name] = await measureStage(counted!, leakless!, STAGES[name].rounds)
      printStage(name, stages[name])
    }
    await stage('small')
    await db.execute('drop index users_id_prefix_idx')
    await db.execute('drop index users_email_prefix_idx')
    const start = process.hrtime.bigint()
    await db.execute(
      `insert into users (id, email, name, role)
       select 'foreign-' || n, 'person' || n || '@example.com', 'Person ' || n, 'parent' from generate_series(1, $1::int) n`,
      [FOREIGN_ROWS],
    )
    console.log(
      `\naudit: ${FOREIGN_ROWS} foreign rows in ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`,
    )
    await stage('noIndex')
    for (const statement of INDEXES) await db.execute(statement)
    await stage('index')
  } finally {
    await leakless?.close().catch(() => {})
    await counted?.close()
    await base.execute(`drop database if exists ${database}`)
    await base.close()
  }
  const { small, noIndex, index } = stages
  const raw = index.ms['raw prefix query']!
  const a = 'audit({ runTag, ledger })'
  const b = 'audit({ runTag })'
  const s = 'sweep, dry run'
  const big = `${(FOREIGN_ROWS + OURS + 5).toLocaleString('en-US')} rows`
  const smallSize = `${OURS + 5} rows`
  return writeResult({
    name: 'audit',
    config: {
      foreignRows: FOREIGN_ROWS,
      runRows: OURS,
      deadProcessRows: 5,
      indexes: INDEXES,
      rounds: Object.fromEntries(Object.entries(STAGES).map(([k, v]) => [k, v.rounds])),
      database: 'a database of its own, dropped after',
      server: `PostgreSQL ${version}`,
      driver: 'postgres-js',
    },
    metrics: Object.fromEntries(
      (Object.keys(stages) as Stage[]).flatMap((k) => [
        [`${k}.medianMs`, stages[k].ms],
        [`${k}.statements`, stages[k].statements],
        [`${k}.clientCpuMs`, stages[k].clientCpuMs],
      ]),
    ),
    ratios: {
      'index.auditLedgerVsRaw': index.ms[a]! / raw,
      'index.auditVsRaw': index.ms[b]! / raw,
      'noIndex.auditLedgerVsRaw': noIndex.ms[a]! / raw,
      'noIndex.auditVsRaw': noIndex.ms[b]! / raw,
      'index.sweepVsRaw': index.ms[s]! / raw,
      'noIndex.sweepVsRaw': noIndex.ms[s]! / raw,
      'small.auditLedgerVsRaw': small.ms[a]! / small.ms['raw prefix query']!,
      'auditLedger.largeVsSmall': index.ms[a]! / small.ms[a]!,
    },
    targets: { 'index.auditLedgerVsRaw': '<= 1.3', 'index.auditVsRaw': '<= 1.3' },
    labels: {
      'index.auditLedgerVsRaw': `audit({ runTag, ledger }) vs the raw indexed prefix query, ${big}, indexed`,
      'index.auditVsRaw': `audit({ runTag }) vs the raw indexed prefix query, ${big}, indexed`,
      'noIndex.auditLedgerVsRaw': `audit({ runTag, ledger }) without the prefix indexes vs the raw indexed query, ${big}`,
      'noIndex.auditVsRaw': `audit({ runTag }) without the prefix indexes vs the raw indexed query, ${big}`,
      'index.sweepVsRaw': `dry-run sweep vs the raw indexed prefix query, ${big}, indexed`,
      'noIndex.sweepVsRaw': `dry-run sweep without the prefix indexes vs the raw indexed query, ${big}`,
      'small.auditLedgerVsRaw': `audit({ runTag, ledger }) vs the raw prefix query, ${smallSize}`,
      'auditLedger.largeVsSmall': `audit({ runTag, ledger }) at ${big} vs at ${smallSize} (indexed)`,
    },
    scaling: [
      {
        what: 'audit({ runTag, ledger }) (a worker closing), users table, prefix indexes',
        unit: 'ms',
        points: [
          { size: smallSize, value: small.ms[a]! },
          { size: big, value: index.ms[a]! },
        ],
      },
      {
        what: 'audit({ runTag, ledger }), users table, no prefix index',
        unit: 'ms',
        points: [
          { size: smallSize, value: small.ms[a]! },
          { size: big, value: noIndex.ms[a]! },
        ],
      },
      {
        what: 'raw indexed prefix query (the floor)',
        unit: 'ms',
        points: [
          { size: smallSize, value: small.ms['raw prefix query']! },
          { size: big, value: raw },
        ],
      },
    ],
  }).pass
}

function printStage(name: Stage, { ms, statements, clientCpuMs }: Measured): void {
  printTable(`audit, ${STAGES[name].title}: median of ${STAGES[name].rounds} interleaved rounds`, [
    ...Object.keys(ms).map((k) => ({
      contender: k,
      'median ms': ms[k]!,
      'vs raw query': ms[k]! / ms['raw prefix query']!,
      statements: statements[k]!,
      'client CPU ms': clientCpuMs[k]!,
    })),
  ])
}
