/**
 * Isolation 'database' on PostgreSQL: a template migrated once per migrations hash, a database per run
 * context cloned from it, recorded in the registry, dropped at close — and, when the process is killed,
 * by a later sweep, which never drops a live context's database nor one the registry does not record.
 */
import { once } from 'node:events'
import { cpSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { factories } from '../../factories/index.js'
import { sweep } from '../../src/cleanup/sweep.js'
import { connect, type Database } from '../../src/db/index.js'
import { migrationsHash, templateDatabaseName } from '../../src/db/worker-database.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { openWorkerRun, type WorkerRun } from '../../src/lifecycle/index.js'
import {
  dropCreatedDatabase,
  dropTemplates,
  readCreatedDatabases,
  recordCreatedDatabase,
  TEMPLATE_UNUSED_MS,
} from '../../src/registry/created-databases.js'
import { REGISTRY_VERSION } from '../../src/registry/registry.js'
import { spawnIsolatedChild } from '../support/isolated-child.js'
import { migrationsFolder } from './drivers.js'

const config = { file: null, isolation: 'database' as const, migrations: migrationsFolder }

describe("isolation 'database' on postgres", () => {
  let db: Database
  let base: string
  const exists = async (name: string) =>
    (await db.execute('select 1 from pg_database where datname = $1', [name])).length === 1
  const recorded = async (name: string) => (await readCreatedDatabases(db)).some((d) => d.name === name)
  const templates = async () =>
    (
      await db.execute<{ name: string; created: string }>(
        `select name, created_at::text as created from leakless.created_resources where kind = 'template' and starts_with(name, $1) order by name`,
        [`${base}_lkt_`],
      )
    ).map((r) => `${r.name} ${r.created}`)

  beforeAll(async () => {
    db = await connect()
    base = (await db.execute<{ name: string }>('select current_database() as name'))[0]!.name
  })
  afterAll(async () => {
    await db.close()
  })

  it('gives two shards of one run databases of their own, cloned from one template, dropped at close', async () => {
    const workers: WorkerRun[] = []
    try {
      for (const shard of [1, 2]) workers.push(await openWorkerRun({ config, factories, shard }))
      const names = workers.map((w) => w.isolation!.name)
      expect(new Set(names).size).toBe(2)
      expect(names[0]).toBe(`${base}_${workers[0]!.run.prefix.slice(0, -1).replace(/-/g, '_')}`)
      expect(names[1]).toMatch(new RegExp(`^${base}_[0-9a-z]{14}_s2n\\d+$`))
      const template = templateDatabaseName(base, migrationsHash(migrationsFolder, REGISTRY_VERSION))
      expect(await exists(template)).toBe(true)
      for (const [i, w] of workers.entries()) {
        const [row] = await w.db.execute<{ name: string }>('select current_database() as name')
        expect(row!.name).toBe(names[i])
        expect(await recorded(names[i]!)).toBe(true)
        // Migrated (cloned from the template), and whole-table counts are the context's own.
        const scope = w.run.scope('counts')
        await scope.bind(factories).users.createList(i + 1)
        const count = async () => (await w.db.execute<{ n: number }>(sql`select count(*)::int as n from users`))[0]!.n
        expect(await count()).toBe(i + 1)
        expect((await scope.cleanup()).deleted).toEqual({ 'public.users': i + 1 })
        expect(await count()).toBe(0)
      }
      // Nothing of theirs in the configured database.
      const [mine] = await db.execute<{ n: number }>(
        'select count(*)::int as n from users where starts_with(id, $1) or starts_with(id, $2)',
        workers.map((w) => w.run.prefix),
      )
      expect(mine!.n).toBe(0)
    } finally {
      for (const w of workers) expect((await w.close()).clean).toBe(true)
    }
    for (const w of workers) {
      expect(await exists(w.isolation!.name)).toBe(false)
      expect(await recorded(w.isolation!.name)).toBe(false)
    }
  })

  it('reuses the template while the migrations are the same, builds another when they change; the sweep drops one unused for a week', async () => {
    const usual = templateDatabaseName(base, migrationsHash(migrationsFolder, REGISTRY_VERSION))
    await (await openWorkerRun({ config, factories })).close()
    const created = async (name: string) =>
      (await db.execute<{ oid: number }>(`select oid::int from pg_database where datname = $1`, [name]))[0]?.oid
    const oid = await created(usual)
    await (await openWorkerRun({ config, factories })).close()
    expect(await created(usual)).toBe(oid) // the same database, not built again

    // One more migration: a new hash, a template of its own beside the usual one.
    const changed = mkdtempSync(join(tmpdir(), 'leakless-migrations-'))
    try {
      cpSync(migrationsFolder, changed, { recursive: true })
      const journalFile = join(changed, 'meta/_journal.json')
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<Record<string, unknown>> }
      const last = journal.entries.at(-1)!
      const tag = '9999_extra_table'
      journal.entries.push({ ...last, idx: Number(last.idx) + 1, when: Number(last.when) + 1, tag })
      writeFileSync(journalFile, JSON.stringify(journal))
      writeFileSync(join(changed, `${tag}.sql`), 'create table "extra" (id integer primary key);')
      const next = await openWorkerRun({ config: { ...config, migrations: changed }, factories })
      try {
        const [row] = await next.db.execute<{ n: number }>(`select count(*)::int as n from extra`)
        expect(row!.n).toBe(0)
      } finally {
        await next.close()
      }
      const other = templateDatabaseName(base, migrationsHash(changed, REGISTRY_VERSION))
      expect(other).not.toBe(usual)
      expect([await exists(other), await exists(usual)]).toEqual([true, true])

      // Unused for a week: dropped by the sweep (a dry run only names it); the one in use stays.
      await db.execute(
        `update leakless.created_resources set created_at = now() - interval '8 days' where kind = 'template' and name = $1`,
        [other],
      )
      expect(await dropTemplates(db, { unusedForMs: TEMPLATE_UNUSED_MS }, true)).toContain(other)
      expect(await exists(other)).toBe(true)
      expect(await dropTemplates(db, { unusedForMs: TEMPLATE_UNUSED_MS })).toContain(other)
      expect([await exists(other), await exists(usual)]).toEqual([false, true])
      expect(await templates()).toEqual([expect.stringMatching(new RegExp(`^${usual} `))])
    } finally {
      rmSync(changed, { recursive: true, force: true })
    }
  })

  it('a killed context leaves its database; a later sweep drops it, never a live one nor an unrecorded one', async () => {
    const runTag = createRunTag(Date.now() - 2 * 3600_000)
    const killed = spawnIsolatedChild(runTag, 'database', migrationsFolder)
    const live = spawnIsolatedChild(runTag, 'database', migrationsFolder)
    const unrecorded = `${base}_${runTag}_99`
    try {
      const [killedPrefix, livePrefix] = await Promise.all([killed.ready, live.ready])
      const name = (prefix: string) => `${base}_${prefix.slice(0, -1).replace(/-/g, '_')}`
      await db.execute(`create database "${unrecorded}"`)

      killed.child.kill('SIGKILL')
      await once(killed.child, 'exit')
      expect(await exists(name(killedPrefix))).toBe(true)
      // The killed backend's sessions go away with its sockets; PostgreSQL may take a moment.
      const report = await sweep({ db, olderThanMs: 3600_000, runTag })
      expect(report.databases.map((d) => d.name)).toEqual([name(killedPrefix)])
      expect(await exists(name(killedPrefix))).toBe(false)
      expect(await recorded(name(killedPrefix))).toBe(false)
      expect(await exists(name(livePrefix))).toBe(true)
      expect(await exists(unrecorded)).toBe(true)
      expect(await dropCreatedDatabase(db, unrecorded)).toBe(false)
      expect(await exists(unrecorded)).toBe(true)

      live.child.stdin!.end()
      expect((await once(live.child, 'exit'))[0]).toBe(0)
      expect(await exists(name(livePrefix))).toBe(false)
      expect(await recorded(name(livePrefix))).toBe(false)
    } finally {
      killed.child.kill('SIGKILL')
      live.child.kill('SIGKILL')
      await db.execute(`drop database if exists "${unrecorded}"`)
    }
  })

  it("refuses to drop a recorded database that is not its owner's name, or one in use", async () => {
    const runTag = createRunTag()
    const innocent = `innocent_${runTag}`
    await db.execute(`create database "${innocent}"`)
    try {
      await recordCreatedDatabase(db, { name: innocent, runTag, owner: `${runTag}-7-` })
      await expect(dropCreatedDatabase(db, innocent)).rejects.toMatchObject({
        code: 'CLEANUP_FAILED',
        message: expect.stringContaining(`Refusing to drop database "${innocent}"`),
      })
      expect(await exists(innocent)).toBe(true)
      await db.execute(`delete from leakless.created_resources where name = $1`, [innocent])

      // Its own name, but someone is connected: kept, with its record, for a later sweep.
      const owned = `${base}_${runTag}_7`
      await recordCreatedDatabase(db, { name: owned, runTag, owner: `${runTag}-7-` })
      await db.execute(`create database "${owned}"`)
      const user = await connect({ database: owned })
      try {
        await expect(dropCreatedDatabase(db, owned)).rejects.toMatchObject({
          code: 'CLEANUP_FAILED',
          message: expect.stringContaining('other sessions are connected to it'),
        })
        expect([await exists(owned), await recorded(owned)]).toEqual([true, true])
      } finally {
        await user.close()
      }
      expect(await dropCreatedDatabase(db, owned)).toBe(true)
      expect([await exists(owned), await recorded(owned)]).toEqual([false, false])
    } finally {
      await db.execute(`drop database if exists "${innocent}"`)
    }
  })
})
