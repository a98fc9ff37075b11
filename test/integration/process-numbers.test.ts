/**
 * Short process fields: the run registry hands out one number per process of a run, never twice, on
 * every driver; old run tags fall back to long fields; the sweep prunes numbers of runs long gone.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, createRun, decodeId, sweep, type Database } from '../../src/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { REGISTRY_VERSION, registryTable } from '../../src/registry/registry-sql.js'
import {
  allocateProcessNumber,
  PROCESS_NUMBER_RETENTION_MS,
  pruneRegistry,
  vacuumRegistry,
} from '../../src/registry/processes.js'
import { readRuns, recordTagColumns, registrySeeds, registryVersion } from '../../src/registry/registry.js'
import { drivers } from './drivers.js'

const DAY = 24 * 60 * 60 * 1000

describe.each(drivers)('process numbers on $name', (driver) => {
  let db: Database
  beforeAll(async () => {
    db = await driver.open()
  })
  afterAll(async () => {
    await db?.close()
  })

  it('are handed out once per process of a run, also to runs created at once and after the run was forgotten', async () => {
    const runTag = createRunTag()
    const runs = await Promise.all(Array.from({ length: 8 }, () => createRun({ db, runTag })))
    const numbers = runs.map((run) => run.processNumber)
    expect([...numbers].sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    for (const run of runs) {
      expect(run.prefix).toBe(`${runTag}-${run.processNumber}-`)
      const id = run.scope('t').id()
      expect(id.length).toBeLessThanOrEqual(24)
      expect(decodeId(id)).toMatchObject({ process: run.processNumber, processPrefix: run.prefix })
    }
    for (const run of runs) expect((await run.close()).clean).toBe(true)
    // Every process closed: the run is forgotten, but its numbers are not handed out again.
    const later = await createRun({ db, runTag })
    expect(later.processNumber).toBe(9)
    await later.close()
  })

  it("the sweep vacuums the registry's tables (a server without autovacuum would let dead journal rows pile up)", async () => {
    await createRun({ db }).then((run) => run.close())
    expect(await vacuumRegistry(db)).toBe(true)
    if (driver.name === 'pglite') return // no statistics views to read it back from
    const [row] = await db.execute<{ vacuumed: boolean }>(
      `select last_vacuum is not null and last_analyze is not null as vacuumed from pg_stat_user_tables where schemaname = 'leakless' and relname = 'untagged'`,
    )
    expect(row?.vacuumed).toBe(true)
  })

  it("a process's registry seeds leave out the tag columns of other processes' own schemas (isolation 'schema')", async () => {
    const runTag = createRunTag()
    await recordTagColumns(db, runTag, [
      { table: `${runTag}_1.users`, column: 'email', source: 'factory' },
      { table: `${runTag}_2.users`, column: 'email', source: 'factory' },
      { table: 'public.users', column: 'email', source: 'factory' },
    ])
    const own = await registrySeeds(db, runTag, `${runTag}-1-3-`)
    expect(Object.keys(own.tagColumns).sort()).toEqual([`${runTag}_1.users`, 'public.users'])
    const whole = await registrySeeds(db, runTag, `${runTag}-`)
    expect(Object.keys(whole.tagColumns)).toHaveLength(3)
    await db.execute(`delete from ${registryTable('tag_columns')} where run_tag = $1`, [runTag])
  })

  it('a run tag older than the numbers are kept gets long process fields', async () => {
    const old = createRunTag(Date.now() - PROCESS_NUMBER_RETENTION_MS - DAY)
    expect(await allocateProcessNumber(db, old)).toBeNull()
    const run = await createRun({ db, runTag: old })
    expect(run.processNumber).toBeNull()
    expect(run.prefix).toMatch(new RegExp(`^${old}-w\\d+p\\d+(r\\d+)?x[0-9a-z]{6}-$`))
    await run.close()
  })

  it('the sweep prunes the numbers of runs past their retention, and keeps the others', async () => {
    const stale = createRunTag(Date.now() - PROCESS_NUMBER_RETENTION_MS - 2 * DAY)
    const fresh = createRunTag()
    await db.execute(`insert into ${registryTable('process_numbers')} (run_tag, last) values ($1, 5), ($2, 3)`, [
      stale,
      fresh,
    ])
    await sweep({ db, olderThanMs: 3_600_000, runTag: fresh })
    const left = await db.execute<{ run_tag: string }>(
      `select run_tag from ${registryTable('process_numbers')} where run_tag = any($1::text[])`,
      [[stale, fresh]],
    )
    expect(left.map((r) => r.run_tag)).toEqual([fresh])
    expect(await allocateProcessNumber(db, fresh)).toBe(4)
    // A closed process's record goes a week after its run started, when the run never reached its end.
    const week = createRunTag(Date.now() - 8 * DAY)
    await db.execute(
      `insert into ${registryTable('closed_processes')} (prefix, run_tag, worker, pid, clean, scopes) values ($1, $2, 0, 1, true, '{}')`,
      [`${week}-1-`, week],
    )
    expect(await pruneRegistry(db)).toBeGreaterThanOrEqual(1)
    const [closed] = await db.execute<{ n: number }>(
      `select count(*)::int as n from ${registryTable('closed_processes')} where run_tag = $1`,
      [week],
    )
    expect(closed!.n).toBe(0)
  })
})

describe('older registry versions', () => {
  it('is migrated to the current version in place, keeping its runs', async () => {
    const pglite = new PGlite()
    try {
      const db = await connect({ db: drizzle(pglite) })
      await (await createRun({ db })).close()
      // Back to version 1 (without the tables added since), with a run of that time: long fields only.
      await db.execute(
        `drop table ${registryTable('process_numbers')}, ${registryTable('closed_processes')}, ${registryTable('created_resources')}`,
      )
      await db.execute(`update ${registryTable('meta')} set value = '1' where key = 'version'`)
      const runTag = createRunTag()
      await db.execute(`insert into ${registryTable('runs')} (run_tag, started_at) values ($1, now())`, [runTag])
      await db.execute(
        `insert into ${registryTable('processes')} (prefix, run_tag, worker, pid) values ($1, $2, 0, 1)`,
        [`${runTag}-w0p1x000000-`, runTag],
      )
      const again = await connect({ db: drizzle(pglite) })
      expect(await registryVersion(again)).toBe(1)
      const run = await createRun({ db: again, runTag })
      expect(await registryVersion(again)).toBe(REGISTRY_VERSION)
      expect(run.prefix).toBe(`${runTag}-1-`)
      const [created] = await again.execute<{ exists: boolean }>(
        `select to_regclass('leakless.created_resources') is not null as exists`,
      )
      expect(created!.exists).toBe(true)
      expect((await readRuns(again, runTag))[0]!.processes.map((p) => p.prefix).sort()).toEqual([
        `${runTag}-1-`,
        `${runTag}-w0p1x000000-`,
      ])
      await run.close()
    } finally {
      await pglite.close()
    }
  })

  it('version 2 (without the created resources) is migrated too', async () => {
    const pglite = new PGlite()
    try {
      const db = await connect({ db: drizzle(pglite) })
      await (await createRun({ db })).close()
      await db.execute(`drop table ${registryTable('created_resources')}`)
      await db.execute(`update ${registryTable('meta')} set value = '2' where key = 'version'`)
      const again = await connect({ db: drizzle(pglite) })
      const run = await createRun({ db: again })
      expect(await registryVersion(again)).toBe(REGISTRY_VERSION)
      const [created] = await again.execute<{ exists: boolean }>(
        `select to_regclass('leakless.created_resources') is not null as exists`,
      )
      expect(created!.exists).toBe(true)
      await run.close()
    } finally {
      await pglite.close()
    }
  })
})
