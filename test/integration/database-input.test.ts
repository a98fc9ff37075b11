/**
 * One database handle everywhere: every API that takes a database accepts the handle connect() returns
 * or the drizzle instance under it (run.db, the adapters' db fixture), on every driver; anything else is a
 * LeaklessError naming what was passed and what is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit, cleanupPrefix, cleanupRun, createRun, sweep, type Database } from '../../src/index.js'
import { factories } from '../../factories/index.js'
import { deleteByPrefix, drivers } from './drivers.js'

describe.each(drivers)('one database handle on $name', (driver) => {
  let db: Database
  beforeAll(async () => {
    db = await driver.open()
  })
  afterAll(async () => {
    await db?.close()
  })

  it('audit, sweep, cleanupPrefix, cleanupRun and createRun take the drizzle instance (run.db) as well as the handle', async () => {
    const run = await createRun({ db: db.drizzle, factories })
    expect(run.db).toBe(db.drizzle)
    try {
      const scope = run.scope('one handle')
      await scope.bind(factories).users.createList(2)
      const found = await audit({ db: run.db!, prefix: scope.prefix })
      expect(found.clean).toBe(false)
      expect(found.rows).toHaveLength(2)
      expect((await cleanupPrefix(run.db!, scope.prefix)).deleted).toEqual({ 'public.users': 2 })
      expect((await audit({ db: run.db!, prefix: scope.prefix })).clean).toBe(true)
      const other = run.scope('the whole run')
      await other.bind(factories).users.create()
      expect((await cleanupRun(run.db!, run.runTag)).deleted).toEqual({ 'public.users': 1 })
      const swept = await sweep({ db: run.db!, runTag: run.runTag, olderThanMs: 0, dryRun: true })
      expect(swept.skipped.map((s) => s.reason)).toContain('lease held') // the live run, seen through the same instance
      expect((await run.close()).clean).toBe(true)
    } finally {
      await deleteByPrefix(db, run.runPrefix)
    }
  })

  it('refuses anything else with DB_UNSUPPORTED, naming what was passed', async () => {
    const prefix = `${(await createRun()).prefix}`
    for (const [api, call] of [
      ['audit()', (bad: unknown) => audit({ db: bad as Database, prefix })],
      ['sweep()', (bad: unknown) => sweep({ db: bad as Database })],
      ['cleanupPrefix()', (bad: unknown) => cleanupPrefix(bad as Database, prefix)],
      ['cleanupRun()', (bad: unknown) => cleanupRun(bad as Database, prefix.slice(0, 14))],
      ['createRun()', (bad: unknown) => createRun({ db: bad as Database })],
    ] as const) {
      for (const [bad, named] of [
        [{ query: () => {} }, 'plain object'],
        ['postgres://x', 'string'],
        [(db.drizzle as unknown as { $client: unknown }).$client, ''],
      ] as const) {
        const error = await call(bad).catch((e: unknown) => e)
        expect(error, `${api} given ${String(named)}`).toMatchObject({
          name: 'ConnectionError',
          code: 'DB_UNSUPPORTED',
        })
        expect((error as Error).message).toContain(api)
        expect((error as Error).message).toContain('drizzle')
        if (named) expect((error as Error).message).toContain(named)
      }
    }
  })
})
