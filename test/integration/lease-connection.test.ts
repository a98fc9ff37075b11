import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type Database } from '../../src/db/index.js'
import { withDatabaseName } from '../../src/db/postgres-url.js'
import { openLeaseConnection } from '../../src/cleanup/lease.js'
import { createRun } from '../../src/index.js'
import { databaseUrl } from './drivers.js'

// createRun opens the lease's connection before the registry's statements: one that a failing createRun
// never used must end with it. A database of this file's own, so that no other test's lease is counted.
describe('the lease connection createRun opens ahead', () => {
  const name = `test_lease_${randomBytes(4).toString('hex')}`
  let admin: Database
  let db: Database

  const leaseSessions = async () => {
    const [row] = await admin.execute<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'leakless lease'`,
      [name],
    )
    return row!.n
  }
  // A session ends on the server a moment after the client closed it (longer on a loaded machine); a
  // leaked one never does.
  const settle = async (expected: number) => {
    for (let i = 0; i < 250 && (await leaseSessions()) !== expected; i++) await new Promise((r) => setTimeout(r, 20))
    return leaseSessions()
  }

  beforeAll(async () => {
    admin = await connect({ url: databaseUrl() })
    await admin.execute(`create database "${name}"`)
    db = await connect({ url: withDatabaseName(databaseUrl(), name) })
  })

  afterAll(async () => {
    await db?.close()
    // FORCE: when the test fails, a leaked lease session may still be connected to it.
    await admin?.execute(`drop database if exists "${name}" with (force)`)
    await admin?.close()
  })

  it('is held by the run while it lives, and gone when createRun fails before taking the lease', async () => {
    const run = await createRun({ db })
    expect(await settle(1)).toBe(1)
    await run.close()
    expect(await settle(0)).toBe(0)

    // Invalid options are found after the registry handed out a process number, before the lease.
    await expect(createRun({ db, shard: 0 })).rejects.toMatchObject({ code: 'SHARD_INVALID' })
    // The early connection may still be connecting when createRun fails: give a leaked one time to show.
    await new Promise((r) => setTimeout(r, 500))
    expect(await settle(0)).toBe(0)
  })

  it('hands its session to one lease only: a retry after a lost connection opens its own', async () => {
    const early = openLeaseConnection(db)!
    const session = early.take(() => {})
    expect(session).not.toBeNull()
    expect(early.take(() => {})).toBeNull()
    await early.discard() // taken: the lease ends it, not discard()
    expect(await settle(1)).toBe(1)
    await session!.end()
    expect(await settle(0)).toBe(0)
  })
})
