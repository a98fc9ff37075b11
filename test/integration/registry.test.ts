import { PGlite } from '@electric-sql/pglite'
import { randomBytes } from 'node:crypto'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit, connect, createRun, sweep, type Database, type RunContext } from '../../src/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { REGISTRY_VERSION, registryTable } from '../../src/registry/registry-sql.js'
import { dropRegistry, readRuns, registryVersion } from '../../src/registry/registry.js'
import { serialApp } from '../fixtures/serial-app.js'
import { drivers } from './drivers.js'

describe.each(drivers)('run registry on $name', (driver) => {
  let db: Database
  let run: RunContext
  const app = serialApp(`registry_${randomBytes(4).toString('hex')}`)
  const counts = async (prefix: string) => {
    const { text, params } = app.countSql(prefix)
    return (await db.execute<Record<string, number>>(text, params))[0]!
  }
  const journaled = async (prefix: string) =>
    (
      await db.execute<{ n: number }>(
        `select count(*)::int as n from ${registryTable('untagged')} where starts_with(prefix, $1)`,
        [prefix],
      )
    )[0]!.n

  beforeAll(async () => {
    db = await driver.open()
    for (const statement of app.ddl) await db.execute(statement)
    run = await createRun({ db, factories: app.factories, cleanup: { schemas: ['public', app.schema] } })
  })

  afterAll(async () => {
    await run?.close()
    await db?.execute(`drop schema if exists "${app.schema}" cascade`)
    await db?.close()
  })

  it('registers the run, its process and the tag columns its factories fill, before any insert', async () => {
    expect(await registryVersion(db)).toBe(REGISTRY_VERSION)
    const [registered] = await readRuns(db, run.runTag)
    expect(registered).toMatchObject({ runTag: run.runTag, startedAt: run.startedAt })
    expect(registered!.processes).toContainEqual(
      expect.objectContaining({ prefix: run.prefix, worker: run.worker, pid: run.pid, closedAt: null }),
    )
    expect(registered!.tagColumns).toMatchObject({
      [`${app.schema}.users`]: ['email'],
      [`${app.schema}.teams`]: ['stripe_customer_id'],
    })
    // counters has no column a tag could be in: nothing to register for it.
    expect(registered!.tagColumns[`${app.schema}.counters`]).toBeUndefined()
  })

  it('journals untagged rows in the statement of their insert, and cleanup deletes rows and entries together', async () => {
    const scope = run.scope('counts')
    const rows = await scope.bind(app.factories).counters.createList(5)
    expect(await journaled(scope.prefix)).toBe(5)
    expect(scope.handedOut).toBe(0) // factories' values are not handed to the test: no discovery needed
    const [entries] = await db.execute<{ keys: string }>(
      `select json_agg((key ->> 'id')::int order by (key ->> 'id')::int)::text as keys from ${registryTable('untagged')} where starts_with(prefix, $1)`,
      [scope.prefix],
    )
    expect(JSON.parse(entries!.keys)).toEqual(rows.map((r) => r.id).sort((a, b) => a - b))
    // Tagged rows are not journaled: their tag finds them.
    await scope.bind(app.factories).users.create()
    expect(await journaled(scope.prefix)).toBe(5)

    const report = await scope.cleanup()
    expect(report.deleted).toEqual({ [`${app.schema}.counters`]: 5, [`${app.schema}.users`]: 1 })
    expect(await journaled(scope.prefix)).toBe(0)
    expect((await counts(scope.prefix)).counters).toBe(0)
  })

  it('cleans what the app wrote from tagged input, with no tag column declared: the column is discovered and recorded', async () => {
    const scope = run.scope('signs up through the app')
    const email = scope.email('signup')
    expect(scope.handedOut).toBe(1) // a value the app may copy anywhere: cleanup looks for it
    for (const { text, params } of app.signUp(email)) await db.execute(text, params)
    expect(await counts(scope.prefix)).toMatchObject({ users: 1, teams: 1, team_members: 1, activity_logs: 1 })

    const report = await scope.cleanup()
    expect(report.deleted).toEqual({
      [`${app.schema}.users`]: 1,
      [`${app.schema}.teams`]: 1,
      [`${app.schema}.team_members`]: 1,
      [`${app.schema}.activity_logs`]: 1,
    })
    expect(await counts(scope.prefix)).toMatchObject({ users: 0, teams: 0, team_members: 0, activity_logs: 0 })
    const [registered] = await readRuns(db, run.runTag)
    expect(registered!.tagColumns[`${app.schema}.teams`]).toEqual(expect.arrayContaining(['name']))
  })

  it('audit({ runTag }) alone finds rows of a process that never cleaned up: tagged only in varchar columns, or untagged', async () => {
    // Another process of the run that dies: its rows are left, and this audit has no ledger of them.
    const other = await createRun({
      db,
      runTag: run.runTag,
      factories: app.factories,
      cleanup: { schemas: ['public', app.schema] },
    })
    const dies = other.scope('dies')
    const f = dies.bind(app.factories)
    const user = await f.users.create()
    const counters = await f.counters.createList(2)
    for (const { text, params } of app.signUp(dies.email('signup'))) await db.execute(text, params)

    const withRegistry = await audit({ db, prefix: other.prefix })
    expect(withRegistry.tables).toEqual({
      [`${app.schema}.users`]: 2,
      [`${app.schema}.teams`]: 1, // its name, discovered
      [`${app.schema}.team_members`]: 1,
      [`${app.schema}.activity_logs`]: 1,
      [`${app.schema}.counters`]: 2,
    })
    expect(withRegistry.rows.map((r) => r.key)).toEqual(
      expect.arrayContaining([{ id: user.id }, ...counters.map((c) => ({ id: c.id }))]),
    )
    // Every row says who made it: its tag, the prefix its key was journaled under, or its parent's.
    for (const row of withRegistry.rows) {
      expect(row.provenance, JSON.stringify(row)).toMatchObject({
        processPrefix: other.prefix,
        scopePrefix: dies.prefix,
      })
    }
    // What the audit saw before the registry: only text primary keys and declared columns.
    const blind = await audit({ db, prefix: other.prefix, registry: false, discover: false })
    expect(blind.clean).toBe(true)

    expect((await other.close()).cleanup.total).toBe(7)
    expect((await audit({ db, prefix: other.prefix })).clean).toBe(true)
  })

  it('forgets finished runs: the registry does not grow over many runs', async () => {
    const tags: string[] = []
    for (let i = 0; i < 12; i++) {
      const runTag = createRunTag(Date.now() - 2 * 3600_000 - i)
      tags.push(runTag)
      const r = await createRun({ db, runTag, factories: app.factories, cleanup: { schemas: ['public', app.schema] } })
      await r.scope('one test').bind(app.factories).counters.createList(3)
      await r.close()
    }
    // Each run's only process closed clean: the run is gone from the registry, nothing left to sweep.
    for (const runTag of tags) {
      expect(await readRuns(db, runTag)).toEqual([])
      expect(await sweep({ db, olderThanMs: 3_600_000, runTag })).toMatchObject({ swept: [], forgotten: [] })
    }
    const [left] = await db.execute<{ runs: number; processes: number; columns: number; untagged: number }>(
      `select (select count(*)::int from ${registryTable('runs')} where run_tag = any($1)) as runs,
        (select count(*)::int from ${registryTable('processes')} where run_tag = any($1)) as processes,
        (select count(*)::int from ${registryTable('tag_columns')} where run_tag = any($1)) as columns,
        (select count(*)::int from ${registryTable('untagged')} where left(prefix, 14) = any($1)) as untagged`,
      [tags],
    )
    expect(left).toEqual({ runs: 0, processes: 0, columns: 0, untagged: 0 })
  })

  it('writes no registry where the guard forbids destructive SQL; factories still insert', async () => {
    const guarded = await createRun({
      db,
      factories: app.factories,
      cleanup: { guard: { env: { NODE_ENV: 'production' }, log: () => {} } },
    })
    expect(guarded.registry).toBeNull()
    const row = await guarded.scope('in production').bind(app.factories).counters.create()
    expect(await journaled(guarded.prefix)).toBe(0)
    expect((await readRuns(db, guarded.runTag))[0]?.processes.map((p) => p.prefix) ?? []).not.toContain(guarded.prefix)
    await db.execute(`delete from "${app.schema}".counters where id = $1`, [row.id])
  })
})

describe('run registry versions', () => {
  it('refuses a registry written by a newer leakless, naming both versions and the fix', async () => {
    const pglite = new PGlite()
    const db = await connect({ db: drizzle(pglite) })
    try {
      await createRun({ db })
      await db.execute(`update ${registryTable('meta')} set value = '99' where key = 'version'`)
      const again = await connect({ db: drizzle(pglite) })
      await expect(createRun({ db: again })).rejects.toMatchObject({
        name: 'ConnectionError',
        code: 'REGISTRY_VERSION',
        message: expect.stringMatching(
          new RegExp(`version 99, but this leakless knows version ${REGISTRY_VERSION}.*leakless registry --drop`),
        ),
      })
      // Dropped, it is created anew by the next run.
      await dropRegistry(again)
      expect(await registryVersion(again)).toBeNull()
      await createRun({ db: again })
      expect(await registryVersion(again)).toBe(REGISTRY_VERSION)
    } finally {
      await pglite.close()
    }
  })
})

describe('run registry races on postgres', () => {
  it('a sweep running beside createRun never takes the new, live process for a dead one', async () => {
    const db = await connect()
    const sweeper = await connect()
    // Old enough for any threshold: only the lease can keep the sweep away.
    const runTag = createRunTag(Date.now() - 20 * 60_000)
    let stop = false
    // A process whose close() has begun may be swept (its lease ends with the close): only a sweep that
    // returned while the process had not begun closing took a live process for a dead one.
    const closing = new Set<string>()
    const takenAlive: string[] = []
    const sweptRows: Record<string, number>[] = []
    const loop = (async () => {
      while (!stop) {
        const report = await sweep({ db: sweeper, olderThanMs: 0, runTag, forget: false })
        for (const p of report.swept) {
          if (!closing.has(p.prefix)) takenAlive.push(p.prefix)
          sweptRows.push(p.deleted)
        }
      }
    })()
    const lost: string[] = []
    try {
      for (let i = 0; i < 150; i++) {
        const run = await createRun({ db, runTag })
        const [registered] = await readRuns(db, runTag)
        if (!registered?.processes.some((p) => p.prefix === run.prefix)) lost.push(run.prefix)
        closing.add(run.prefix)
        await run.close()
      }
    } finally {
      stop = true
      await loop
      await db.close()
      await sweeper.close()
    }
    expect(lost).toEqual([])
    expect(takenAlive).toEqual([])
    expect(sweptRows.filter((deleted) => Object.keys(deleted).length > 0)).toEqual([])
  })
})
