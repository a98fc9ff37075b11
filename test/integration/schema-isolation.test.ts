/**
 * Isolation 'schema' on PostgreSQL: a schema per run context, recorded in the registry, on the context's
 * search_path, dropped at close — and, when the process is killed, by a later sweep, which never drops a
 * live context's schema nor one the registry does not record.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { factories } from '../../factories/index.js'
import { sweep } from '../../src/cleanup/sweep.js'
import { connect, type Database } from '../../src/db/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { openWorkerRun, type WorkerRun } from '../../src/lifecycle/index.js'
import { dropCreatedSchema, readCreatedSchemas, recordCreatedSchema } from '../../src/registry/created-resources.js'
import { spawnIsolatedChild } from '../support/isolated-child.js'
import { databaseUrl, migrationsFolder } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')
const config = { file: null, isolation: 'schema' as const, migrations: migrationsFolder }
const spawnChild = (runTag: string) => spawnIsolatedChild(runTag, 'schema', migrationsFolder)

describe("isolation 'schema' on postgres", () => {
  let db: Database
  const schemaExists = async (name: string) =>
    (await db.execute<{ n: number }>('select count(*)::int as n from pg_namespace where nspname = $1', [name]))[0]!
      .n === 1
  const recorded = async (name: string) => (await readCreatedSchemas(db)).some((s) => s.name === name)

  beforeAll(async () => {
    db = await connect()
  })
  afterAll(async () => {
    await db.close()
  })

  it('gives two shards of one run distinct schemas on their search_path, and drops each at close', async () => {
    const workers: WorkerRun[] = []
    try {
      for (const shard of [1, 2]) workers.push(await openWorkerRun({ config, factories, shard }))
      const names = workers.map((w) => w.run.prefix.slice(0, -1).replace(/-/g, '_'))
      expect(new Set(names).size).toBe(2)
      expect(names[0]).toMatch(/^[0-9a-z]{14}_s1n\d+$/)
      expect(names[1]).toMatch(/^[0-9a-z]{14}_s2n\d+$/)
      for (const [i, w] of workers.entries()) {
        const [row] = await w.db.execute<{ schema: string }>('select current_schema() as schema')
        expect(row!.schema).toBe(names[i])
        expect(await recorded(names[i]!)).toBe(true)
        // Unqualified drizzle tables land in the context's schema: whole-table counts are its own.
        const scope = w.run.scope('counts')
        await scope.bind(factories).users.createList(i + 1)
        const count = async () => (await w.db.execute<{ n: number }>(sql`select count(*)::int as n from users`))[0]!.n
        expect(await count()).toBe(i + 1)
        // The ledger, the registry and cleanup name the table where the rows are.
        expect(w.run.ledger.tables()).toEqual([`${names[i]}.users`])
        expect((await scope.cleanup()).deleted).toEqual({ [`${names[i]}.users`]: i + 1 })
        expect(await count()).toBe(0)
      }
    } finally {
      for (const w of workers) expect((await w.close()).clean).toBe(true)
    }
    for (const w of workers) {
      const name = w.run.prefix.slice(0, -1).replace(/-/g, '_')
      expect(await schemaExists(name)).toBe(false)
      expect(await recorded(name)).toBe(false)
    }
  })

  it('a killed context leaves its schema; a later sweep drops it, never a live one nor an unrecorded one', async () => {
    // Two hours old: past the sweep's threshold of one hour.
    const runTag = createRunTag(Date.now() - 2 * 3600_000)
    const killed = spawnChild(runTag)
    const live = spawnChild(runTag)
    const unrecorded = `${runTag}_99`
    try {
      const [killedPrefix, livePrefix] = await Promise.all([killed.ready, live.ready])
      const killedSchema = killedPrefix.slice(0, -1).replace(/-/g, '_')
      const liveSchema = livePrefix.slice(0, -1).replace(/-/g, '_')
      // A schema named like one of the run's, with a table, that leakless did not create.
      await db.execute(`create schema "${unrecorded}"`)
      await db.execute(`create table "${unrecorded}".keep (id int)`)

      killed.child.kill('SIGKILL')
      await once(killed.child, 'exit')
      expect(await schemaExists(killedSchema)).toBe(true)
      expect(await recorded(killedSchema)).toBe(true)

      const report = await sweep({ db, olderThanMs: 3600_000, runTag })
      expect(report.schemas.map((s) => s.name)).toEqual([killedSchema])
      expect(await schemaExists(killedSchema)).toBe(false)
      expect(await recorded(killedSchema)).toBe(false)
      expect(await schemaExists(liveSchema)).toBe(true)
      expect(await schemaExists(unrecorded)).toBe(true)
      // Dropping by name needs the registry's record, too.
      expect(await dropCreatedSchema(db, unrecorded)).toBe(false)
      expect(await schemaExists(unrecorded)).toBe(true)
      const [users] = await db.execute<{ n: number }>(`select count(*)::int as n from "${liveSchema}".users`)
      expect(users!.n).toBe(1)

      // The live context closes on its own: its schema goes with it.
      live.child.stdin!.end()
      expect((await once(live.child, 'exit'))[0]).toBe(0)
      expect(await schemaExists(liveSchema)).toBe(false)
      expect(await recorded(liveSchema)).toBe(false)
    } finally {
      killed.child.kill('SIGKILL')
      live.child.kill('SIGKILL')
      await db.execute(`drop table if exists "${unrecorded}".keep`)
      await db.execute(`drop schema if exists "${unrecorded}"`)
    }
  })

  it("drops a recorded schema only when it is its owner's and nothing outside depends on it", async () => {
    const runTag = createRunTag()
    const owner = `${runTag}-7-`
    const name = `${runTag}_7`
    const view = `v_${runTag}`
    await recordCreatedSchema(db, { name, runTag, owner })
    await db.execute(`create schema "${name}"`)
    await db.execute(`create table "${name}".t (id int primary key)`)
    await db.execute(`create view public."${view}" as select id from "${name}".t`)
    // CASCADE would take the view in public along: refused, and nothing changes.
    await expect(dropCreatedSchema(db, name)).rejects.toMatchObject({
      name: 'CleanupError',
      code: 'CLEANUP_FAILED',
      message: expect.stringContaining(`view ${view}`),
    })
    expect([await schemaExists(name), await recorded(name)]).toEqual([true, true])
    await db.execute(`drop view public."${view}"`)
    expect(await dropCreatedSchema(db, name)).toBe(true)
    expect([await schemaExists(name), await recorded(name)]).toEqual([false, false])

    // A record that names a schema which is not its owner's (written by hand, or tampered with).
    const innocent = `innocent_${runTag}`
    await db.execute(`create schema "${innocent}"`)
    await db.execute(`create table "${innocent}".keep (id int)`)
    await recordCreatedSchema(db, { name: innocent, runTag, owner })
    await expect(dropCreatedSchema(db, innocent)).rejects.toMatchObject({
      code: 'CLEANUP_FAILED',
      message: expect.stringContaining(`Refusing to drop schema "${innocent}"`),
    })
    expect(await schemaExists(innocent)).toBe(true)
    await db.execute(`delete from leakless.created_resources where name = $1`, [innocent])
    await db.execute(`drop schema "${innocent}" cascade`)
  })
})

describe("the registry's records of created schemas", () => {
  it('keep `leakless registry --drop` from orphaning a schema until a sweep dropped it', async () => {
    // A database of its own: no other suite's live runs there, whose leases would refuse the drop first.
    const admin = await connect()
    const name = `${admin.target.database}_regdrop`
    await admin.execute(`drop database if exists "${name}"`)
    await admin.execute(`create database "${name}"`)
    const url = new URL(databaseUrl())
    url.pathname = `/${name}`
    const env = { ...process.env, DATABASE_URL: url.toString(), LEAKLESS_DATABASE_URL: '' }
    const cli = (args: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: root, env })
      let stderr = ''
      child.stderr!.on('data', (chunk) => (stderr += chunk))
      return once(child, 'close').then(([code]) => ({ code: code as number, stderr }))
    }
    const db = await connect({ url: url.toString() })
    try {
      const runTag = createRunTag(Date.now() - 2 * 3600_000)
      await recordCreatedSchema(db, { name: `${runTag}_1`, runTag, owner: `${runTag}-1-` })
      await db.execute(`create schema "${runTag}_1"`)

      const refused = await cli(['registry', '--drop'])
      expect(refused.code, refused.stderr).toBe(2)
      expect(refused.stderr).toContain(`it records 1 schema(s) leakless created for isolation 'schema' (${runTag}_1)`)
      expect((await cli(['sweep'])).code).toBe(0)
      expect(await readCreatedSchemas(db)).toEqual([])
      const [left] = await db.execute<{ n: number }>('select count(*)::int as n from pg_namespace where nspname = $1', [
        `${runTag}_1`,
      ])
      expect(left!.n).toBe(0)
      expect((await cli(['registry', '--drop'])).code).toBe(0)
    } finally {
      await db.close()
      await admin.execute(`drop database if exists "${name}" with (force)`)
      await admin.close()
    }
  })
})
