/**
 * A long-lived worker: 10 000 tests in one run context, each creating a tagged row and an untagged one
 * (a serial key) and cleaning them up. Cycles per second, this process's CPU time per cycle (what
 * bookkeeping costs, less sensitive to the database's load than the rate) and heap after a full GC, of
 * the first 1 000 against the last 1 000: what a test costs must not depend on how many tests the
 * worker ran before. Runs in a private schema.
 */
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { bigserial, integer, pgSchema, text } from 'drizzle-orm/pg-core'
import { connect, type Database } from '../src/db/index.js'
import { createRun, defineFactory, type RunContext } from '../src/index.js'
import { printTable, writeResult } from './lib/measure.js'

const CYCLES = Number(process.env.LEAKLESS_BENCH_CYCLES ?? 10_000)
const WINDOW = Math.min(1000, Math.floor(CYCLES / 2))
const schema = `bench_ledger_${randomBytes(4).toString('hex')}`
const tables = pgSchema(schema)
const items = tables.table('item', { id: text('id').primaryKey(), label: text('label').notNull() })
const counters = tables.table('counter', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  n: integer('n').notNull(),
})
const factories = {
  items: defineFactory(items, (f) => ({ id: f.id(), label: f.faker.word.noun() })),
  counters: defineFactory(counters, (f) => ({ n: f.seq })),
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapMb = () => (gc(), process.memoryUsage().heapUsed / 2 ** 20)

interface Window {
  cyclesPerSecond: number
  cpuUsPerCycle: number
  heapMb: number
  ledgerEntries: number
}

async function cycles(run: RunContext, from: number, to: number): Promise<{ rate: number; cpuUs: number }> {
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  for (let i = from; i < to; i++) {
    const scope = run.scope(`cycle ${i}`)
    const f = scope.bind(factories)
    await f.items.create()
    await f.counters.create()
    const report = await scope.cleanup()
    if (report.total !== 2) throw new Error(`cycle ${i}: cleanup deleted ${report.total} rows, expected 2`)
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const used = process.cpuUsage(cpu)
  return { rate: (to - from) / seconds, cpuUs: (used.user + used.system) / (to - from) }
}

export async function run(): Promise<boolean> {
  const db: Database = await connect()
  let leakless: RunContext | undefined
  try {
    await db.execute(`create schema ${schema}`)
    await db.execute(`create table ${schema}.item (id text primary key, label text not null)`)
    await db.execute(`create table ${schema}.counter (id bigserial primary key, n int not null)`)
    leakless = await createRun({ db, cleanup: { schemas: ['public', schema] }, factories })
    const measure = async (from: number, to: number): Promise<Window> => {
      const { rate, cpuUs } = await cycles(leakless!, from, to)
      return { cyclesPerSecond: rate, cpuUsPerCycle: cpuUs, heapMb: heapMb(), ledgerEntries: leakless!.ledger.size }
    }
    const first = await measure(0, WINDOW)
    await cycles(leakless, WINDOW, CYCLES - WINDOW)
    const last = await measure(CYCLES - WINDOW, CYCLES)
    const rateLastVsFirst = last.cyclesPerSecond / first.cyclesPerSecond
    const cpuLastVsFirst = last.cpuUsPerCycle / first.cpuUsPerCycle
    const heapLastVsFirst = last.heapMb / first.heapMb
    printTable(
      `ledger: ${CYCLES} create + cleanup cycles in one run context (a tagged and an untagged row each; ${db.driver}, ${db.target.host}:${db.target.port}/${db.target.database})`,
      [first, last].map((w, i) => ({
        cycles: `${i === 0 ? 'first' : 'last'} ${WINDOW}`,
        'cycles/s': w.cyclesPerSecond,
        'CPU µs/cycle': w.cpuUsPerCycle,
        'heap MB': w.heapMb,
        'ledger entries': w.ledgerEntries,
      })),
    )
    const result = writeResult({
      name: 'ledger',
      config: { cycles: CYCLES, window: WINDOW, driver: db.driver },
      metrics: { first: { ...first }, last: { ...last } },
      ratios: { rateLastVsFirst, cpuLastVsFirst, heapLastVsFirst },
      // Heap after a full GC is steady where rates follow the machine's load: the target is on it.
      targets: { heapLastVsFirst: '<= 1.3' },
      labels: {
        rateLastVsFirst: `create + cleanup cycles/s: the last ${WINDOW} vs the first ${WINDOW}`,
        cpuLastVsFirst: `CPU time per cycle: the last ${WINDOW} vs the first ${WINDOW}`,
        heapLastVsFirst: `heap after a full GC: after ${CYCLES} cycles vs after ${WINDOW}`,
      },
    })
    return result.pass
  } finally {
    await leakless?.close().catch(() => {})
    await db.execute(`drop schema if exists ${schema} cascade`)
    await db.close()
  }
}
