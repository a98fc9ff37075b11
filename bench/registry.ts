/**
 * What the run registry costs and saves beside 1 000 000 foreign rows (a private copy of the reference
 * `users`, with its `text_pattern_ops` index on e-mail): a dry-run sweep of one dead process found
 * through the registry, against the scan of every tag column the sweep did before the registry; the
 * discovery query a test's cleanup runs when it handed values out; and the raw indexed prefix query
 * as the floor.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Database } from '../src/db/index.js'
import { cachedSchema } from '../src/db/introspect.js'
import { discoverTagColumns } from '../src/cleanup/discover.js'
import { tagColumnsOf } from '../src/cleanup/execute.js'
import { createRunTag } from '../src/ids/run-tag.js'
import { sweep } from '../src/index.js'
import { createRunSync } from '../src/run/index.js'
import { registerProcess } from '../src/registry/registry.js'
import { median, printTable, writeResult } from './lib/measure.js'

const FOREIGN_ROWS = 1_000_000
const ROUNDS = 9
const schema = `bench_reg_${randomBytes(4).toString('hex')}`

async function time(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < rounds + 2; i++) {
    const start = process.hrtime.bigint()
    await fn()
    if (i >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return median(samples)
}

export async function run(): Promise<boolean> {
  const db: Database = await connect()
  try {
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${schema}.users (like public.users including all)`)
    await db.execute(
      `insert into ${schema}.users (id, email, name, role)
       select 'foreign-' || n, 'person' || n || '@example.com', 'Person ' || n, 'parent' from generate_series(1, $1::int) n`,
      [FOREIGN_ROWS],
    )
    await db.execute(`analyze ${schema}.users`)
    // A dead process of an old run, registered, with 5 users of its own.
    const runTag = createRunTag(Date.now() - 2 * 3600_000)
    const dead = createRunSync({ runTag, worker: 1, pid: 1 })
    await registerProcess(db, { ...dead, runStartedAt: dead.startedAt, tagColumns: [] })
    const scope = dead.scope('left rows')
    await db.execute(
      `insert into ${schema}.users (id, email, name, role) select $1 || n, $1 || n || '@example.test', 'x', 'parent' from generate_series(1, 5) n`,
      [scope.prefix],
    )
    const options = { db, schemas: [schema], dryRun: true, olderThanMs: 0, runTag }
    const graph = await cachedSchema(db, { schemas: [schema] })

    const check = await sweep(options)
    if (check.swept.length !== 1 || check.swept[0]!.deleted[`${schema}.users`] !== 5) {
      throw new Error(`the registry sweep did not find the dead process: ${JSON.stringify(check.swept)}`)
    }
    const ms = {
      registrySweep: await time(ROUNDS, () => sweep(options)),
      scanSweep: await time(ROUNDS, () => sweep({ ...options, runTag: undefined, scan: true })),
      discovery: await time(ROUNDS, () => discoverTagColumns(db, graph, tagColumnsOf(graph), scope.prefix)),
      indexedPrefix: await time(ROUNDS, () =>
        db.execute(`select id from ${schema}.users where email like $1`, [`${scope.prefix}%`]),
      ),
    }
    const registryVsScan = ms.registrySweep / ms.scanSweep
    const discoveryVsIndexed = ms.discovery / ms.indexedPrefix
    printTable(
      `registry: beside ${FOREIGN_ROWS.toLocaleString('en-US')} foreign users, median of ${ROUNDS} (${db.driver}, ${db.target.host}:${db.target.port}/${db.target.database})`,
      [
        { contender: 'sweep dry run, dead runs from the registry', 'median ms': ms.registrySweep, ratio: 1 },
        {
          contender: 'sweep dry run, scanning every tag column',
          'median ms': ms.scanSweep,
          ratio: ms.scanSweep / ms.registrySweep,
        },
        {
          contender: "discovery of a scope's prefix",
          'median ms': ms.discovery,
          ratio: ms.discovery / ms.registrySweep,
        },
        {
          contender: 'raw indexed prefix query',
          'median ms': ms.indexedPrefix,
          ratio: ms.indexedPrefix / ms.registrySweep,
        },
      ],
    )
    const result = writeResult({
      name: 'registry',
      config: { foreignRows: FOREIGN_ROWS, rounds: ROUNDS, driver: db.driver, deadProcessRows: 5 },
      metrics: { medianMs: ms },
      ratios: { registryVsScan, discoveryVsIndexed },
      targets: { registryVsScan: '<= 0.5' },
      labels: {
        registryVsScan: 'dry-run sweep through the run registry vs scanning every tag column (1M rows)',
        discoveryVsIndexed: "discovery of a scope's prefix vs the raw indexed prefix query (1M rows)",
      },
    })
    return result.pass
  } finally {
    await db.execute(`drop schema if exists ${schema} cascade`)
    await db.close()
  }
}
