import { is } from 'drizzle-orm'
import { PgDatabase } from 'drizzle-orm/pg-core'
import type { AnyPgDatabase } from '../db/database.js'
import { describeKind } from '../db/database.js'
import { isNodePostgres, isPool } from '../db/node-postgres.js'
import { describeValue } from '../describe-value.js'
import { ConnectionError } from '../errors.js'

/**
 * The adapters' `db` option: your app's drizzle instance (postgres.js, node-postgres or PGlite), or a
 * function, sync or async, that returns one; it is called once per worker (Playwright) or test file (Vitest).
 */
export type DatabaseOption<D extends AnyPgDatabase = AnyPgDatabase> = D | (() => D | Promise<D>)

const ACCEPTED =
  "Pass your app's drizzle instance (drizzle-orm/postgres-js, drizzle-orm/node-postgres with a pg Pool or Client, or drizzle-orm/pglite), or a function that returns one, e.g. db: () => drizzle(new Pool({ connectionString: process.env.DATABASE_URL }))."

/**
 * @internal Checks a `db` option when the test is defined: a drizzle instance or a function. Anything else
 * (a URL, a bare driver client, a number…) is a `DB_UNSUPPORTED` ConnectionError naming it.
 */
export function checkDatabaseOption(option: unknown, api: string): void {
  if (is(option, PgDatabase)) return
  if (typeof option === 'function' && !isPostgresJsClient(option)) return
  throw unsupported(option, api, '')
}

/** @internal The drizzle instance a `db` option stands for: itself, or what its function returns (checked). */
export async function resolveDatabaseOption(option: unknown, api: string): Promise<AnyPgDatabase> {
  checkDatabaseOption(option, api)
  if (is(option, PgDatabase)) return option as AnyPgDatabase
  const made: unknown = await (option as () => unknown)()
  if (is(made, PgDatabase)) return made as AnyPgDatabase
  throw unsupported(made, api, 'the function passed as db returned ')
}

function unsupported(value: unknown, api: string, via: string): ConnectionError {
  const what = describeOption(value)
  return new ConnectionError('DB_UNSUPPORTED', `${api}: ${via || 'db is '}${what}. ${hint(value)}${ACCEPTED}`, {
    details: { api, db: what },
  })
}

/** What was passed, for the message: a value as JSON (a URL without its password), an object by its class. */
function describeOption(value: unknown): string {
  if (typeof value === 'string')
    return `the string ${describeValue(value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'))}`
  if (isPostgresJsClient(value)) return 'a postgres.js client (the sql function)'
  if (typeof value === 'object' && value !== null) {
    if (isNodePostgres(value)) return `a node-postgres ${isPool(value) ? 'Pool' : 'Client'} (not a drizzle instance)`
    return `a ${describeKind(value)}`
  }
  return typeof value === 'function' ? 'a function' : describeValue(value)
}

function hint(value: unknown): string {
  if (typeof value === 'string') return 'A URL belongs in DATABASE_URL or databaseUrl in leakless.config.ts. '
  if (isPostgresJsClient(value)) return "Wrap it: drizzle(sql) from 'drizzle-orm/postgres-js'. "
  if (isNodePostgres(value)) return "Wrap it: drizzle(pool) from 'drizzle-orm/node-postgres'. "
  if (typeof value === 'object' && value !== null && 'drizzle' in value) {
    return 'For the handle connect() returns, pass its .drizzle. '
  }
  return ''
}

/** postgres.js's `sql` is a function too: never call it as a `db` factory. */
function isPostgresJsClient(value: unknown): boolean {
  if (typeof value !== 'function') return false
  const c = value as unknown as Record<string, unknown>
  return typeof c.unsafe === 'function' && typeof c.begin === 'function'
}
