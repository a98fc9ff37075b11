import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { connect, type Database } from '../../src/db/index.js'
import { createRun, defineFactory } from '../../src/index.js'
import { createRunTag } from '../../src/ids/index.js'
import { collateralDdl, collateralTables } from './fixtures/collateral-schema.js'

const root = resolve(import.meta.dirname, '../..')
const schema = `collateral_${randomBytes(4).toString('hex')}`
const PROCESSES = 4
const CYCLES = 50

function runWorker(worker: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/integration/fixtures/collateral-worker.ts')],
      {
        cwd: root,
        env: { ...process.env, SCHEMA: schema, CYCLES: String(CYCLES), WORKER: String(worker) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`worker ${worker} exited ${code}: ${output}`))))
  })
}

const checksum = async (db: Database) => {
  const [row] = await db.execute<{ people: string; notes: string; links: string; n: number }>(
    `select (select md5(string_agg(p::text, ',' order by p.id)) from ${schema}.people p) as people,
            (select md5(string_agg(n::text, ',' order by n.id)) from ${schema}.notes n) as notes,
            (select md5(string_agg(l::text, ',' order by l.id)) from ${schema}.links l) as links,
            (select count(*)::int from ${schema}.people) as n`,
  )
  return row!
}

describe('no collateral damage', () => {
  let db: Database

  beforeAll(async () => {
    db = await connect()
    for (const statement of collateralDdl(schema)) await db.execute(statement)
  })

  afterAll(async () => {
    await db?.execute(`drop schema if exists ${schema} cascade`)
    await db?.close()
  })

  it('leaves 10 000 rows that are not ours byte-for-byte unchanged through 200 concurrent create+cleanup cycles', async () => {
    const run = await createRun({ db, worker: 1, cleanup: { schemas: [schema] } })
    const otherLiveRun = await createRun({ db, runTag: createRunTag(), worker: 1 })
    const hostile = [
      '%',
      '_',
      '\\',
      '%%',
      '\\%',
      '_%_',
      `${run.runTag}`, // our run tag without the field boundary
      `${run.runTag}_`,
      `${run.runTag}%`,
      `${run.runTag}-w10p1x000000-1-10`, // a sibling worker's prefix: w10 vs our w1
      `${run.runTag}-w1p${run.pid}x000000-1-10`, // same worker and pid, another context's nonce
      `${run.prefix.slice(0, -1)}`, // our process prefix without its final "-"
      `${otherLiveRun.prefix}1-10`, // another live run's tag
      `${otherLiveRun.runTag}-`,
    ]
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) {
      const special = hostile[i % hostile.length]!
      ids.push(i < hostile.length * 20 ? `${special}${i}` : `user-${i}-${randomBytes(4).toString('hex')}`)
    }
    for (let start = 0; start < ids.length; start += 1000) {
      const chunk = ids.slice(start, start + 1000)
      await db.execute(
        `insert into ${schema}.people (id, email, name) select id, id || '@mail.example', 'Person ' || id from unnest($1::text[]) as id`,
        [chunk],
      )
      await db.execute(
        `insert into ${schema}.notes (person_id, body) select id, 'kept' from unnest($1::text[]) as id where random() < 0.1`,
        [chunk],
      )
    }
    // A non-test row pointing at a test row through a nullable foreign key.
    const { people } = collateralTables(schema)
    const scope = run.scope('nullable fk')
    const person = await scope
      .bind({ p: defineFactory(people, (f) => ({ id: f.id(), email: f.email(), name: 'x' })) })
      .p.create()
    await db.execute(`insert into ${schema}.links (person_id, label) values ($1, 'not ours')`, [person.id])
    const before = await checksum(db)
    expect(before.n).toBe(10_001)

    await expect(scope.cleanup()).rejects.toMatchObject({ code: 'CLEANUP_NULLABLE_DEPENDENT' })
    expect(await checksum(db)).toEqual(before) // failed loudly and deleted nothing

    await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(i + 1)))
    // The worker-level cleanup next to all the hostile values refuses for the same reason, deleting nothing.
    await expect(run.cleanup()).rejects.toMatchObject({ code: 'CLEANUP_NULLABLE_DEPENDENT' })
    expect(await checksum(db)).toEqual(before)

    // The nullable-FK row is the test's to resolve: detach it, then the scope cleans up.
    await db.execute(`update ${schema}.links set person_id = null where person_id = $1`, [person.id])
    expect((await scope.cleanup()).deleted).toEqual({ [`${schema}.people`]: 1 })
    const after = await checksum(db)
    expect(after.n).toBe(10_000)
  }, 180_000)
})
