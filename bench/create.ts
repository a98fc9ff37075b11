/**
 * createList(1000) against a hand-written drizzle multi-row INSERT of equivalent rows, and against
 * 1000 concurrent single-row INSERTs (what callback-per-row factory libraries do).
 */
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { faker } from '@faker-js/faker/locale/en'
import { connect, ensureSchema } from '../src/db/index.js'
import { createRun } from '../src/index.js'
import { factories } from '../factories/index.js'
import { users } from '../factories/schema.js'
import { median, printTable, writeResult } from './lib/measure.js'

const N = 1000
const ROUNDS = 15
const WARMUP = 3

export async function run(): Promise<boolean> {
  const db = await connect()
  await ensureSchema(db, { migrationsFolder: fileURLToPath(new URL('../factories/migrations', import.meta.url)) })
  const leakless = await createRun({ db })
  let handCounter = 0
  const handRows = () =>
    Array.from({ length: N }, () => {
      const id = `${leakless.prefix}h${(handCounter++).toString(36)}`
      return { id, email: `${id}.user@example.test`, name: faker.person.fullName(), role: 'parent' as const }
    })

  const contenders: Record<string, () => Promise<unknown>> = {
    'createList(1000)': () => leakless.scope('bench').bind(factories).users.createList(N),
    'raw multi-row insert': () => db.drizzle.insert(users).values(handRows()).returning(),
    '1000 single inserts': () => Promise.all(handRows().map((row) => db.drizzle.insert(users).values(row).returning())),
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  try {
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const [name, contender] of Object.entries(contenders)) {
        const start = process.hrtime.bigint()
        await contender()
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        if (round >= WARMUP) times[name]!.push(ms)
        await db.execute('delete from users where starts_with(id, $1)', [leakless.prefix])
      }
    }
  } finally {
    await db.execute('delete from users where starts_with(id, $1)', [leakless.prefix])
    await db.close()
  }
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))
  const vsRawInsert = ms['createList(1000)']! / ms['raw multi-row insert']!
  const vsSingleInserts = ms['createList(1000)']! / ms['1000 single inserts']!
  printTable(
    `create: ${N} users, median of ${ROUNDS} interleaved rounds after ${WARMUP} warm-up (${db.driver}, ${db.target.host}:${db.target.port}/${db.target.database})`,
    Object.entries(ms).map(([name, value]) => ({
      contender: name,
      'median ms': value,
      'vs createList': value / ms['createList(1000)']!,
    })),
  )
  const result = writeResult(
    'create',
    { medianMs: ms, rows: { perRound: N, rounds: ROUNDS } },
    { vsRawInsert, vsSingleInserts },
    { vsRawInsert: '<= 1.15', vsSingleInserts: '<= 0.2' },
    cpus().length,
  )
  console.log(
    `\nratios.vsRawInsert = ${vsRawInsert.toFixed(3)} (target <= 1.15), ratios.vsSingleInserts = ${vsSingleInserts.toFixed(3)} (target <= 0.2): ${result.pass ? 'pass' : 'FAIL'}`,
  )
  return result.pass
}
