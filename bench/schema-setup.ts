/**
 * What isolation 'schema' costs a worker (a test file under Vitest's isolate: true): creating its schema
 * and applying the reference migrations in it (what leakless does), against copying a template schema
 * migrated once (`create table … (like … including all)`, own sequences, foreign keys re-pointed); and a
 * whole run context opened and closed under 'schema' against 'shared'.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { factories } from '../factories/index.js'
import { connect, type Database } from '../src/db/index.js'
import { createWorkerSchema } from '../src/db/worker-schema.js'
import { openWorkerRun } from '../src/lifecycle/index.js'
import { median, printTable, writeResult } from './lib/measure.js'

const ROUNDS = 15
const migrations = fileURLToPath(new URL('../factories/migrations', import.meta.url))
const base = `bench_schema_${randomBytes(3).toString('hex')}`
// The bench's own schemas, never recorded in the registry.
const dropSchema = (db: Database, name: string) => db.execute(`drop schema if exists "${name}" cascade`)

async function time(rounds: number, fn: (i: number) => Promise<unknown>, after?: (i: number) => Promise<unknown>) {
  const samples: number[] = []
  for (let i = 0; i < rounds + 2; i++) {
    const start = process.hrtime.bigint()
    await fn(i)
    if (i >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
    await after?.(i)
  }
  return median(samples)
}

/** The template's tables, sequences and foreign keys rebuilt in `name`, in one transaction. */
async function copyTemplate(db: Database, from: string, name: string): Promise<void> {
  await db.transaction(async (run) => {
    await run(`create schema "${name}"`)
    const tables = await run<{ t: string }>(
      `select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`,
      [from],
    )
    for (const { t } of tables) await run(`create table "${name}"."${t}" (like "${from}"."${t}" including all)`)
    const sequences = await run<{ s: string; t: string; c: string }>(
      `select s.relname as s, t.relname as t, a.attname as c from pg_class s join pg_namespace n on n.oid = s.relnamespace
      join pg_depend d on d.objid = s.oid and d.deptype = 'a' join pg_class t on t.oid = d.refobjid
      join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid where n.nspname = $1 and s.relkind = 'S'`,
      [from],
    )
    for (const { s, t, c } of sequences) {
      await run(`create sequence "${name}"."${s}" owned by "${name}"."${t}"."${c}"`)
      await run(`alter table "${name}"."${t}" alter column "${c}" set default nextval('"${name}"."${s}"')`)
    }
    const fks = await run<{ con: string; t: string; def: string }>(
      `select c.conname as con, r.relname as t, pg_get_constraintdef(c.oid) as def from pg_constraint c
      join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace where n.nspname = $1 and c.contype = 'f'`,
      [from],
    )
    for (const { con, t, def } of fks) {
      await run(`alter table "${name}"."${t}" add constraint "${con}" ${def.replaceAll(`${from}.`, `"${name}".`)}`)
    }
  })
}

export async function run(): Promise<boolean> {
  const db = await connect()
  const template = `${base}_template`
  try {
    await createWorkerSchema(db, template, migrations)
    const ms = {
      createAndMigrate: await time(
        ROUNDS,
        (i) => createWorkerSchema(db, `${base}_m${i}`, migrations),
        (i) => dropSchema(db, `${base}_m${i}`),
      ),
      copyTemplate: await time(
        ROUNDS,
        (i) => copyTemplate(db, template, `${base}_c${i}`),
        (i) => dropSchema(db, `${base}_c${i}`),
      ),
      drop: await time(
        ROUNDS,
        (i) => dropSchema(db, `${base}_d${i}`),
        (i) => createWorkerSchema(db, `${base}_d${i + 1}`, migrations),
      ).catch(() => NaN),
      workerShared: await time(ROUNDS, async () => {
        const worker = await openWorkerRun({ config: { file: null }, factories })
        await worker.close()
      }),
      workerSchema: await time(ROUNDS, async () => {
        const worker = await openWorkerRun({ config: { file: null, isolation: 'schema', migrations }, factories })
        await worker.close()
      }),
    }
    const copyVsCreate = ms.copyTemplate / ms.createAndMigrate
    const schemaVsShared = ms.workerSchema / ms.workerShared
    printTable(
      `isolation 'schema': per-worker setup, median of ${ROUNDS} (${db.driver}, ${db.target.host}:${db.target.port}/${db.target.database})`,
      [
        { contender: 'create schema + migrations (leakless)', 'median ms': ms.createAndMigrate, ratio: 1 },
        { contender: 'copy a migrated template schema', 'median ms': ms.copyTemplate, ratio: copyVsCreate },
        { contender: 'drop schema … cascade', 'median ms': ms.drop, ratio: ms.drop / ms.createAndMigrate },
        { contender: "run context open + close, 'shared'", 'median ms': ms.workerShared, ratio: 1 },
        { contender: "run context open + close, 'schema'", 'median ms': ms.workerSchema, ratio: schemaVsShared },
      ],
    )
    const result = writeResult({
      name: 'schema-setup',
      config: { rounds: ROUNDS, driver: db.driver },
      metrics: { medianMs: ms },
      ratios: { copyVsCreate, schemaVsShared },
      targets: { copyVsCreate: '>= 0.8' },
      labels: {
        copyVsCreate: 'copying a migrated template schema vs create schema + migrations',
        schemaVsShared: "run context open + close: isolation 'schema' vs 'shared'",
      },
    })
    return result.pass
  } finally {
    const left = await db.execute<{ nspname: string }>(
      `select nspname from pg_namespace where starts_with(nspname, $1)`,
      [base],
    )
    for (const { nspname } of left) await dropSchema(db, nspname)
    await db.close()
  }
}
