import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { assertSafeTarget, connect, type Database, type GuardOptions } from '../../src/db/index.js'
import { announceTarget, GUARD_NOTICE_ENV } from '../../src/db/guard.js'
import { isLeaklessError, type LeaklessError } from '../../src/errors.js'
import { drivers } from './drivers.js'

const suite = inject('database')

async function refusal(db: Database, options: GuardOptions): Promise<LeaklessError> {
  const error = await assertSafeTarget(db, { log: () => {}, ...options }).then(
    () => new Error('expected assertSafeTarget() to refuse'),
    (e: unknown) => e,
  )
  if (!isLeaklessError(error)) throw error
  return error
}

describe.each(drivers)('assertSafeTarget on $name', ({ name, open }) => {
  let db: Database

  beforeAll(async () => {
    db = await open()
  })

  afterAll(async () => {
    await db?.close()
  })

  it('accepts the live test database', async () => {
    const lines: string[] = []
    const target = await assertSafeTarget(db, { log: (line) => lines.push(line) })
    if (name === 'pglite') {
      expect(target).toEqual({
        driver: 'pglite',
        database: 'postgres',
        serverAddress: null,
        port: null,
        allowances: [],
      })
      expect(lines).toEqual(['leakless: destructive SQL allowed on postgres in-process (pglite)'])
    } else {
      expect(target.database).toBe(suite.embedded ? 'leakless_test' : db.target.database)
      expect(target.serverAddress).toBe('127.0.0.1')
      expect(target.allowances).toEqual([])
      expect(lines).toEqual([
        `leakless: destructive SQL allowed on ${target.database} at 127.0.0.1:${db.target.port} (${db.driver})`,
      ])
    }
  })

  it('refuses a remote server unless allowRemote', async () => {
    const error = await refusal(db, { serverAddress: '10.1.2.3', env: {} })
    expect(error.code).toBe('GUARD_REMOTE')
    expect(error.message).toContain('the server 10.1.2.3 is not on this machine')
    expect(error.message).toContain('LEAKLESS_ALLOW_REMOTE=1')
    const target = await assertSafeTarget(db, { serverAddress: '10.1.2.3', env: {}, allowRemote: true, log: () => {} })
    expect(target.allowances).toEqual(['allowRemote'])
  })

  it('refuses production unless LEAKLESS_ALLOW_PRODUCTION=1', async () => {
    expect((await refusal(db, { env: { NODE_ENV: 'production' } })).code).toBe('GUARD_PRODUCTION')
    expect((await refusal(db, { env: { APP_ENV: 'production' } })).code).toBe('GUARD_PRODUCTION')
    const target = await assertSafeTarget(db, {
      env: { NODE_ENV: 'production', LEAKLESS_ALLOW_PRODUCTION: '1' },
      log: () => {},
    })
    expect(target.allowances).toEqual(['LEAKLESS_ALLOW_PRODUCTION'])
  })

  it('refuses again on a repeated call, and answers a changed environment anew', async () => {
    const env = { NODE_ENV: 'production' }
    expect((await refusal(db, { env })).code).toBe('GUARD_PRODUCTION')
    expect((await refusal(db, { env })).code).toBe('GUARD_PRODUCTION')
    await expect(
      assertSafeTarget(db, { env: { ...env, LEAKLESS_ALLOW_PRODUCTION: '1' }, log: () => {} }),
    ).resolves.toBeDefined()
  })

  it('logs the target once for repeated calls on one connection', async () => {
    // A second handle over the same drizzle instance: a new Database object, so nothing cached yet.
    const handle = await connect({ db: db.drizzle })
    let queries = 0
    const fresh: Database = { ...handle, execute: (query, params) => (queries++, handle.execute(query, params)) }
    const lines: string[] = []
    const log = (line: string) => lines.push(line)
    const env = { NODE_ENV: 'test' }
    await Promise.all([assertSafeTarget(fresh, { env, log }), assertSafeTarget(fresh, { env, log })])
    for (let i = 0; i < 5; i++) await assertSafeTarget(fresh, { env, log })
    expect(lines).toHaveLength(1)
    expect(queries).toBe(1)
    expect(lines[0]).toMatch(
      /^leakless: destructive SQL allowed on \S+ (at 127\.0\.0\.1:\d+ \((postgres-js|node-postgres)\)|in-process \(pglite\))$/,
    )
    // An allowance that waives a rule is worth its own line, once.
    await assertSafeTarget(fresh, { env, log, serverAddress: '10.1.2.3', allowRemote: true })
    await assertSafeTarget(fresh, { env, log, serverAddress: '10.1.2.3', allowRemote: true })
    expect(lines).toHaveLength(2)
    expect(queries).toBe(2)
    // Pretending a unix socket (null) is a different question from asking the live server.
    expect(await assertSafeTarget(fresh, { env, log, serverAddress: null })).toMatchObject({ serverAddress: null })
    expect(queries).toBe(3)
    expect(lines[1]).toMatch(/at 10\.1\.2\.3(:\d+)? \((postgres-js|node-postgres|pglite); allowed by allowRemote\)$/)
  })

  it('prints nothing with LEAKLESS_QUIET=1, nor the line a global setup already printed for this run', async () => {
    const lines: string[] = []
    const log = (line: string) => lines.push(line)
    await assertSafeTarget(db, { env: { LEAKLESS_QUIET: '1' }, log })
    expect(lines).toEqual([])
    const notice = await announceTarget(db, { env: {}, log })
    expect(lines).toEqual([notice])
    // A worker of that run: the same line is not printed again, by any log.
    const worker: string[] = []
    await assertSafeTarget(db, { env: { [GUARD_NOTICE_ENV]: notice! }, log: (line) => worker.push(line) })
    expect(worker).toEqual([])
    // Another target (here: an allowance waived a rule) is news: printed.
    await assertSafeTarget(db, {
      env: { [GUARD_NOTICE_ENV]: notice! },
      serverAddress: '10.1.2.3',
      allowRemote: true,
      log: (line) => worker.push(line),
    })
    expect(worker).toHaveLength(1)
    expect(worker[0]).toContain('allowed by allowRemote')
    // Where the guard refuses, the global setup announces nothing and leaves the refusal to the workers.
    expect(await announceTarget(db, { env: { NODE_ENV: 'production' }, log })).toBeNull()
  })

  // Driver-specific cases are registered only for their driver (no skipped tests).
  if (name === 'pglite')
    it('accepts any database name in-process', async () => {
      const target = await assertSafeTarget(db, { env: {}, log: () => {} })
      expect(target.database).toBe('postgres')
    })

  if (name === 'postgres')
    it('refuses a database not named like a test database', async () => {
      const database = `leakless_guard_${randomBytes(6).toString('hex')}`
      await db.execute(`create database "${database}"`)
      try {
        const url = new URL(suite.url || process.env.DATABASE_URL || process.env.LEAKLESS_DATABASE_URL!)
        url.pathname = `/${database}`
        const other = await connect({ url: url.href, max: 1 })
        try {
          const error = await refusal(other, { env: {} })
          expect(error.code).toBe('GUARD_DATABASE_NAME')
          expect(error.message).toContain(`database "${database}" at 127.0.0.1:`)
          expect(error.message).toContain(`{ allowDatabases: ['${database}'] } or LEAKLESS_ALLOW_DATABASE=${database}`)
          const byOption = await assertSafeTarget(other, { env: {}, allowDatabases: [database], log: () => {} })
          expect(byOption).toMatchObject({ database, allowances: ['allowDatabases'] })
          const byEnv = await assertSafeTarget(other, {
            env: { LEAKLESS_ALLOW_DATABASE: `some_other,${database}` },
            log: () => {},
          })
          expect(byEnv).toMatchObject({ database, allowances: ['LEAKLESS_ALLOW_DATABASE'] })
          // LEAKLESS_ALLOW_REMOTE is no allowance for the name.
          expect((await refusal(other, { env: { LEAKLESS_ALLOW_REMOTE: '1' } })).code).toBe('GUARD_DATABASE_NAME')
        } finally {
          await other.close()
        }
      } finally {
        await db.execute(`drop database if exists "${database}" with (force)`)
      }
    })
})
