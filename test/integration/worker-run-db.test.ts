/**
 * The adapters' `db` option under them: openWorkerRun on the user's drizzle instance uses it for the run,
 * its cleanup and audit, releases what the run holds at close, and leaves the user's pool open; the
 * guard still refuses a database whose name does not look like a test database.
 */
import { randomBytes } from 'node:crypto'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { factories } from '../../factories/index.js'
import { isLeaseHeld } from '../../src/cleanup/lease.js'
import type { ResolvedConfig } from '../../src/config/index.js'
import { connect } from '../../src/db/index.js'
import { openWorkerRun } from '../../src/lifecycle/index.js'
import { databaseUrl, deleteByPrefix } from './drivers.js'

const config: ResolvedConfig = { file: null }
const rowsOf = (result: unknown) => (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows)

describe("openWorkerRun({ db }) on the user's drizzle instance", () => {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 3 })
  const client = postgres(databaseUrl(), { max: 3, onnotice: () => {} })
  afterAll(() => Promise.all([pool.end(), client.end()]))

  const cases = [
    ['a pg Pool (node-postgres)', drizzlePg(pool, { schema: {} })],
    ['a function returning postgres.js', drizzlePostgres(client)],
  ] as const

  it.each(cases)('%s: the run uses it, cleans up and audits; its pool stays open after close', async (_, userDb) => {
    const option = userDb.$client === client ? async () => userDb : userDb
    const worker = await openWorkerRun({ config, factories, db: option })
    const prefix = worker.run.prefix
    try {
      expect(worker.db.drizzle).toBe(userDb)
      expect(worker.run.db).toBe(userDb)
      expect(worker.db.source).toBe('drizzle')
      const scope = worker.run.scope('on your db')
      const user = await scope.bind(factories).users.create()
      // A row written after the cleanup: only the close's audit finds it.
      expect((await scope.cleanup()).deleted).toEqual({ 'public.users': 1 })
      await userDb.execute(sql`insert into users (id, email, name) values (${user.id}, ${user.email}, 'late')`)
      expect(await isLeaseHeld(worker.db, prefix)).toBe(true)

      const closed = await worker.close()
      expect(closed.clean).toBe(false)
      expect(closed.report.leftBehind.tables).toEqual({ 'public.users': 1 })
      expect(closed.message).toContain(user.id)
      // The lease is released; the user's pool is not ended.
      expect(await isLeaseHeld(worker.db, prefix)).toBe(false)
      const rows = rowsOf(
        await userDb.execute(sql`select count(*)::int as n from users where starts_with(id, ${prefix})`),
      )
      expect(rows).toEqual([{ n: 0 }])
    } finally {
      const db = await connect()
      await deleteByPrefix(db, prefix)
      await db.close()
    }
  })

  it('a bad db is DB_UNSUPPORTED before anything connects; one returned by the function too', async () => {
    await expect(openWorkerRun({ config, db: 'postgres://x' as never })).rejects.toMatchObject({
      code: 'DB_UNSUPPORTED',
      message: expect.stringContaining('leaklessTest(): db is the string "postgres://x".') as unknown,
    })
    await expect(openWorkerRun({ config, db: (() => pool) as never, api: 'X' })).rejects.toMatchObject({
      code: 'DB_UNSUPPORTED',
      message: expect.stringContaining('X: the function passed as db returned a node-postgres Pool') as unknown,
    })
  })

  it('the guard still refuses a database not named like a test database; the lease ends anyway', async () => {
    const name = `lk_app_${randomBytes(3).toString('hex')}`
    const admin = await connect()
    await admin.execute(`create database ${name}`)
    const url = new URL(databaseUrl())
    url.pathname = `/${name}`
    const other = new pg.Pool({ connectionString: url.toString(), max: 2 })
    const sessions = async () =>
      (
        await admin.execute(
          `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name like 'leakless%'`,
          [name],
        )
      )[0]!.n
    try {
      const worker = await openWorkerRun({ config, factories, db: drizzlePg(other) })
      expect(worker.run.registry).toBeNull() // nothing written where the guard refuses
      const refused = {
        name: 'GuardError',
        code: 'GUARD_DATABASE_NAME',
        message: expect.stringContaining(name) as unknown,
      }
      await expect(worker.run.scope('refused').cleanup()).rejects.toMatchObject(refused)
      await expect(worker.close()).rejects.toMatchObject(refused)
      await vi.waitFor(async () => expect(await sessions()).toBe(0))
      const schemas = await other.query(`select count(*)::int as n from pg_namespace where nspname = 'leakless'`)
      expect(schemas.rows).toEqual([{ n: 0 }])
    } finally {
      await other.end()
      await admin.execute(`drop database ${name} with (force)`)
      await admin.close()
    }
  })
})
