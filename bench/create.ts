/**
 * Inserting users, per driver (postgres.js, node-postgres, PGlite): createList(1000) against a
 * hand-written drizzle multi-row INSERT of equivalent rows, against 1 000 concurrent single-row INSERTs
 * (what callback-per-row factory libraries do) and against COPY … FROM STDIN (the floor); one create()
 * against one hand-written drizzle insert. Contenders interleaved, rounds rotating their order.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { PGlite } from '@electric-sql/pglite'
import { faker } from '@faker-js/faker/locale/en'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import type { Sql } from 'postgres'
import { connect, ensureSchema, type Database } from '../src/db/index.js'
import { createRun } from '../src/index.js'
import { factories } from '../factories/index.js'
import { users } from '../factories/schema.js'
import { describeDb, MIGRATIONS, openBase, serverVersion } from './lib/database.js'
import { interleave, medians, printTable, writeResult } from './lib/measure.js'

const N = 1000
const ROUNDS = 11
const WARMUP = 3
/** Single inserts per sample of the one-row comparison (a sample is their mean). */
const SINGLES = 25
const SINGLE_ROUNDS = 9

type Row = { id: string; email: string; name: string; role: 'parent' }

interface DriverCase {
  key: 'postgresJs' | 'nodePg' | 'pglite'
  label: string
  db: Database
  /** COPY … FROM STDIN of the rows, where the driver has it without another package. */
  copy: ((rows: Row[]) => Promise<unknown>) | null
  close(): Promise<void>
}

const csv = (rows: Row[]) =>
  rows.map((r) => [r.id, r.email, r.name, r.role].map((v) => `"${v.replaceAll('"', '""')}"`).join(',')).join('\n')
const COPY_SQL = 'copy users (id, email, name, role) from stdin with (format csv)'

async function openDrivers(url: string): Promise<DriverCase[]> {
  const postgresJs = await connect({ url })
  const client = (postgresJs.drizzle as unknown as { $client: Sql }).$client
  const nodePg = await connect({ url, driver: 'pg' })
  const lite = new PGlite()
  const pglite = await connect({ db: drizzlePglite(lite) })
  await ensureSchema(pglite, { migrationsFolder: MIGRATIONS })
  return [
    {
      key: 'postgresJs',
      label: 'postgres.js',
      db: postgresJs,
      copy: async (rows) => pipeline(Readable.from([csv(rows)]), await client.unsafe(COPY_SQL).writable()),
      close: () => postgresJs.close(),
    },
    // node-postgres has COPY only through the pg-copy-streams package: not measured.
    { key: 'nodePg', label: 'node-postgres', db: nodePg, copy: null, close: () => nodePg.close() },
    {
      key: 'pglite',
      label: 'PGlite',
      db: pglite,
      copy: (rows) => lite.query(COPY_SQL.replace('stdin', `'/dev/blob'`), [], { blob: new Blob([csv(rows)]) }),
      close: () => lite.close(),
    },
  ]
}

async function measureDriver(driver: DriverCase) {
  const { db } = driver
  const leakless = await createRun({ db })
  let counter = 0
  const handRow = (): Row => {
    const id = `${leakless.prefix}h${(counter++).toString(36)}`
    return { id, email: `${id}.user@example.test`, name: faker.person.fullName(), role: 'parent' }
  }
  const handRows = () => Array.from({ length: N }, handRow)
  const clear = () => db.execute('delete from users where starts_with(id, $1)', [leakless.prefix])
  const bulk: Record<string, () => Promise<unknown>> = {
    'createList(1000)': () => leakless.scope('bench').bind(factories).users.createList(N),
    'drizzle multi-row insert': () => db.drizzle.insert(users).values(handRows()).returning(),
    '1000 concurrent single inserts': () =>
      Promise.all(handRows().map((row) => db.drizzle.insert(users).values(row).returning())),
  }
  if (driver.copy) bulk['COPY … FROM STDIN'] = () => driver.copy!(handRows())
  const single: Record<string, () => Promise<unknown>> = {
    'create()': async () => {
      const f = leakless.scope('bench one').bind(factories)
      for (let i = 0; i < SINGLES; i++) await f.users.create()
    },
    'drizzle insert of one row': async () => {
      for (let i = 0; i < SINGLES; i++) await db.drizzle.insert(users).values(handRow()).returning()
    },
  }
  try {
    const bulkMs = medians(await interleave(bulk, { rounds: ROUNDS, warmup: WARMUP, after: clear }))
    const singleTotal = medians(await interleave(single, { rounds: SINGLE_ROUNDS, warmup: 3, after: clear }))
    const singleMs = Object.fromEntries(Object.entries(singleTotal).map(([k, v]) => [k, v / SINGLES]))
    return { bulkMs, singleMs }
  } finally {
    await clear()
    await leakless.close()
  }
}

export async function run(): Promise<boolean> {
  const { base, url } = await openBase()
  const drivers = await openDrivers(url)
  const metrics: Record<string, Record<string, number>> = {}
  const ratios: Record<string, number> = {}
  const targets: Record<string, string> = {}
  const labels: Record<string, string> = {}
  let version: string
  try {
    version = await serverVersion(base)
    for (const driver of drivers) {
      const { bulkMs, singleMs } = await measureDriver(driver)
      const { key, label } = driver
      metrics[`${key}.bulkMs`] = bulkMs
      metrics[`${key}.oneRowMs`] = singleMs
      const list = bulkMs['createList(1000)']!
      ratios[`${key}.vsMultiRowInsert`] = list / bulkMs['drizzle multi-row insert']!
      ratios[`${key}.vsSingleInserts`] = list / bulkMs['1000 concurrent single inserts']!
      if (driver.copy) ratios[`${key}.vsCopy`] = list / bulkMs['COPY … FROM STDIN']!
      ratios[`${key}.createVsInsert`] = singleMs['create()']! / singleMs['drizzle insert of one row']!
      targets[`${key}.vsMultiRowInsert`] = '<= 0.8'
      targets[`${key}.vsSingleInserts`] = '<= 0.15'
      targets[`${key}.createVsInsert`] = '<= 1.1'
      labels[`${key}.vsMultiRowInsert`] = `createList(1000) vs drizzle multi-row insert (${label})`
      labels[`${key}.vsSingleInserts`] = `createList(1000) vs 1 000 concurrent single inserts (${label})`
      if (driver.copy) labels[`${key}.vsCopy`] = `createList(1000) vs COPY … FROM STDIN, the floor (${label})`
      labels[`${key}.createVsInsert`] = `one create() vs one hand-written drizzle insert (${label})`
      printTable(`create, ${describeDb(driver.db)}: ${N} users, median of ${ROUNDS} interleaved rounds`, [
        ...Object.entries(bulkMs).map(([name, ms]) => ({
          contender: name,
          'median ms': ms,
          'vs createList': ms / list,
        })),
        ...Object.entries(singleMs).map(([name, ms]) => ({
          contender: name,
          'median ms': ms,
          'vs createList': NaN,
        })),
      ])
    }
  } finally {
    for (const driver of drivers) await driver.close()
    await base.close()
  }
  return writeResult({
    name: 'create',
    config: {
      rows: N,
      rounds: ROUNDS,
      warmup: WARMUP,
      oneRow: { insertsPerSample: SINGLES, rounds: SINGLE_ROUNDS },
      drivers: drivers.map((d) => d.label),
      server: `PostgreSQL ${version}`,
      pglite: 'in-process, in memory',
      copy: 'postgres.js and PGlite; node-postgres needs pg-copy-streams (not a dependency)',
    },
    metrics,
    ratios,
    targets,
    labels,
  }).pass
}
