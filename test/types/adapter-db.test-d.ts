import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzleNodePg, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import pg from 'pg'
import postgres from 'postgres'
import { describe, expectTypeOf, it } from 'vitest'
import type { DrizzleDatabase } from '../../src/run/index.js'
import type { LeaklessFixtures, LeaklessTestOptions } from '../../src/vitest/index.js'
import type { LeaklessTest } from '../../src/playwright/index.js'
import { leaklessTest as playwrightTest } from '../../src/playwright/index.js'
import { leaklessTest as vitestTest } from '../../src/vitest/index.js'
import * as schema from '../../factories/schema.js'
import { factories } from '../../factories/index.js'

type Factories = typeof factories
type PlaywrightDb<T> = T extends LeaklessTest<Factories, infer D> ? D : never

const pool = drizzleNodePg(new pg.Pool(), { schema })
const client = drizzleNodePg(new pg.Client())
const sqlDb = drizzlePostgres(postgres(), { schema })
const lite = drizzlePglite(new PGlite())

// Never called: typecheck only reads the test functions' contexts.
export function fixtureTypes(): void {
  vitestTest({ factories, db: pool })('node-postgres', ({ db, factories: bound }) => {
    expectTypeOf(db).toEqualTypeOf(pool)
    expectTypeOf(bound.users.create()).resolves.toEqualTypeOf<schema.User>()
  })
  vitestTest({ db: async () => sqlDb })('postgres.js from a function', ({ db }) => {
    expectTypeOf(db).toEqualTypeOf(sqlDb)
  })
  vitestTest()('no db', ({ db }) => expectTypeOf(db).toEqualTypeOf<DrizzleDatabase>())
  playwrightTest({ db: () => client })('node-postgres Client', ({ db }) => {
    expectTypeOf(db).toEqualTypeOf(client)
  })
}

describe('the adapters’ db option', () => {
  it('takes a drizzle instance of every driver, or a function returning one; the fixture has its type', () => {
    expectTypeOf(vitestTest({ factories, db: pool })).toEqualTypeOf(vitestTest<Factories, typeof pool>({}))
    expectTypeOf(vitestTest({ db: () => sqlDb })).toEqualTypeOf(vitestTest<Record<never, never>, typeof sqlDb>({}))
    expectTypeOf(vitestTest({ db: async () => lite })).toEqualTypeOf(vitestTest<Record<never, never>, typeof lite>({}))
    expectTypeOf(vitestTest({ db: client })).toEqualTypeOf(vitestTest<Record<never, never>, typeof client>({}))
    expectTypeOf<LeaklessFixtures<Factories, typeof pool>['db']>().toEqualTypeOf<
      NodePgDatabase<typeof schema> & { $client: pg.Pool }
    >()

    expectTypeOf(playwrightTest({ factories, db: pool })).toEqualTypeOf<LeaklessTest<Factories, typeof pool>>()
    expectTypeOf<PlaywrightDb<ReturnType<typeof playwrightTest<Factories, typeof sqlDb>>>>().toEqualTypeOf<
      PostgresJsDatabase<typeof schema> & { $client: postgres.Sql }
    >()
    expectTypeOf(playwrightTest({ factories, db: async () => lite })).toEqualTypeOf<
      LeaklessTest<Factories, PgliteDatabase & { $client: PGlite }>
    >()
  })

  it('defaults to any drizzle PostgreSQL database', () => {
    expectTypeOf(vitestTest({ factories })).toEqualTypeOf(vitestTest<Factories, DrizzleDatabase>({}))
    expectTypeOf(playwrightTest({ factories })).toEqualTypeOf<LeaklessTest<Factories, DrizzleDatabase>>()
  })

  it('refuses what is not a drizzle instance', () => {
    // @ts-expect-error a URL is not a database
    vitestTest({ db: 'postgres://postgres@127.0.0.1/test' })
    // @ts-expect-error a bare pg Pool
    playwrightTest({ db: new pg.Pool() })
    // @ts-expect-error a function returning a number
    vitestTest({ db: () => 42 })
    expectTypeOf<LeaklessTestOptions<Factories>['db']>().not.toBeAny()
  })
})
