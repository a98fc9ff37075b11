/**
 * The benchmarks' database: `DATABASE_URL`, else the embedded PostgreSQL (started by the first
 * `connect()`), and a postgres.js connection that counts the statements it sends (round trips).
 */
import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import { connect, ensureSchema, type Database } from '../../src/db/index.js'
import { median } from './measure.js'

export const MIGRATIONS = fileURLToPath(new URL('../../factories/migrations', import.meta.url))

/** A connection (postgres.js, as `connect()` opens it) whose every statement is counted. */
export interface CountedDatabase {
  readonly db: Database
  readonly client: Sql
  /** Statements sent since the last `reset()`. */
  statements(): number
  /** The text of the statements sent since the last `reset()` (for a profile). */
  texts(): string[]
  reset(): void
  close(): Promise<void>
}

/**
 * The server's URL, started when needed: `base` must stay open meanwhile (closing the handle that
 * started the embedded PostgreSQL stops it).
 */
export async function openBase(): Promise<{ base: Database; url: string }> {
  const base = await connect()
  await ensureSchema(base, { migrationsFolder: MIGRATIONS })
  // Benchmarks insert and delete many rows; where autovacuum is off (as on this project's test server) the
  // dead rows pile up from one benchmark to the next and every scan reads them: each starts vacuumed.
  await base.execute('vacuum (analyze) users, sessions, bookings, activity')
  const url = process.env.DATABASE_URL ?? process.env.LEAKLESS_DATABASE_URL
  if (!url) throw new Error('bench: no DATABASE_URL after connect()')
  return { base, url }
}

/** A postgres.js pool on `url` with the settings of `connect()` (and `settings`), counting what it sends. */
export async function openCounted(
  url: string,
  database?: string,
  settings: Record<string, string> = {},
): Promise<CountedDatabase> {
  let sent: string[] = []
  const target = new URL(url)
  if (database !== undefined) target.pathname = `/${database}`
  const client = postgres(target.href, {
    max: 10,
    onnotice: () => {},
    // postgres.js reads pg_type once per new connection for array types: its own query, not ours.
    debug: (_connection, query) => void (/from pg_catalog\.pg_type/.test(query) || sent.push(query)),
    // The settings connect() gives its connections.
    connection: { synchronous_commit: 'off', lock_timeout: 5000, jit: 'off', ...settings },
  })
  const db = await connect({ db: drizzle(client) })
  sent = []
  return {
    db,
    client,
    statements: () => sent.length,
    texts: () => [...sent],
    reset: () => void (sent = []),
    close: () => client.end({ timeout: 5 }),
  }
}

/** The round-trip floor: the median time of `select 1`, one after another, on this connection. */
export async function selectOneMs(db: Database, times = 200): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < times + 20; i++) {
    const start = process.hrtime.bigint()
    await db.execute('select 1')
    if (i >= 20) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return median(samples)
}

/** `host:port/database (driver)`, for titles and config. */
export const describeDb = (db: Database) =>
  `${db.driver}, ${db.target.host ?? 'in-process'}${db.target.port ? `:${db.target.port}` : ''}/${db.target.database ?? ''}`

/** The server's version (`server_version`). */
export async function serverVersion(db: Database): Promise<string> {
  const [row] = await db.execute<{ v: string }>("select current_setting('server_version') as v")
  return row?.v ?? 'unknown'
}
