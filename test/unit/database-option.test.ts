import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, describe, expect, test } from 'vitest'
import { ConnectionError } from '../../src/errors.js'
import { checkDatabaseOption, resolveDatabaseOption } from '../../src/lifecycle/index.js'

// Nothing here connects: pg and postgres.js open connections only at the first query.
const pool = new pg.Pool({ connectionString: 'postgres://postgres:secret@127.0.0.1:5432/test' })
const sql = postgres('postgres://postgres@127.0.0.1:5432/test')
afterAll(() => Promise.all([pool.end(), sql.end()]))

const API = 'leaklessTest() of leakless/vitest'
const ACCEPTED =
  "Pass your app's drizzle instance (drizzle-orm/postgres-js, drizzle-orm/node-postgres with a pg Pool or Client, or drizzle-orm/pglite), or a function that returns one"

describe('the adapters’ db option', () => {
  test('a drizzle instance on any driver is itself; a function (sync or async) is called once', async () => {
    const onPool = drizzleNodePg(pool)
    const onClient = drizzleNodePg(new pg.Client())
    const onSql = drizzlePostgres(sql)
    const onPglite = drizzlePglite({ client: {} as PGlite })
    for (const db of [onPool, onClient, onSql, onPglite]) {
      expect(() => checkDatabaseOption(db, API)).not.toThrow()
      expect(await resolveDatabaseOption(db, API)).toBe(db)
    }
    let calls = 0
    expect(await resolveDatabaseOption(() => (calls++, onSql), API)).toBe(onSql)
    expect(await resolveDatabaseOption(async () => (calls++, onPool), API)).toBe(onPool)
    expect(calls).toBe(2)
  })

  const refused: Array<[string, unknown, string]> = [
    [
      'a URL (its password hidden)',
      'postgres://postgres:secret@127.0.0.1:5432/test',
      'db is the string "postgres://postgres:***@127.0.0.1:5432/test". A URL belongs in DATABASE_URL or databaseUrl in leakless.config.ts.',
    ],
    [
      'a bare pg Pool',
      pool,
      "db is a node-postgres Pool (not a drizzle instance). Wrap it: drizzle(pool) from 'drizzle-orm/node-postgres'.",
    ],
    [
      "postgres.js's sql function (never called)",
      sql,
      "db is a postgres.js client (the sql function). Wrap it: drizzle(sql) from 'drizzle-orm/postgres-js'.",
    ],
    ['a number', 42, 'db is 42.'],
    ['a plain object', { url: 'x' }, 'db is a plain object.'],
  ]
  for (const [what, value, message] of refused) {
    test(`${what}: DB_UNSUPPORTED when the test is defined, naming it and what is accepted`, async () => {
      const error = (() => {
        try {
          checkDatabaseOption(value, API)
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ConnectionError)
      expect(error).toMatchObject({ code: 'DB_UNSUPPORTED' })
      expect((error as Error).message).toBe(
        `${API}: ${message} ${ACCEPTED}, e.g. db: () => drizzle(new Pool({ connectionString: process.env.DATABASE_URL })).`,
      )
      expect((error as Error).message).not.toContain('secret')
      await expect(resolveDatabaseOption(value, API)).rejects.toMatchObject({ code: 'DB_UNSUPPORTED' })
    })
  }

  test('a function returning something else: DB_UNSUPPORTED naming what it returned', async () => {
    await expect(resolveDatabaseOption(async () => pool, API)).rejects.toThrow(
      `${API}: the function passed as db returned a node-postgres Pool (not a drizzle instance). Wrap it: drizzle(pool)`,
    )
    await expect(resolveDatabaseOption(() => undefined, API)).rejects.toThrow(
      `${API}: the function passed as db returned undefined. ${ACCEPTED}`,
    )
  })
})
