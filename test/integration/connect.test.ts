import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as pgliteDrizzle } from 'drizzle-orm/pglite'
import { drizzle as postgresDrizzle } from 'drizzle-orm/postgres-js'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { isLeaklessError } from '../../src/errors.js'
import { connect, ensureSchema, startEmbedded, type AnyPgDatabase, type Database } from '../../src/db/index.js'

const target = inject('database')
const MIGRATIONS = 'factories/migrations'
const TABLES = ['activity', 'bookings', 'sessions', 'users']

/** The URL of the suite's server with some parts replaced. */
function urlWith(change: { user?: string; password?: string; database?: string; port?: number }): string {
  const url = new URL(process.env.DATABASE_URL || process.env.LEAKLESS_DATABASE_URL!)
  if (change.user !== undefined) url.username = change.user
  if (change.password !== undefined) url.password = change.password
  if (change.database !== undefined) url.pathname = `/${change.database}`
  if (change.port !== undefined) url.port = String(change.port)
  return url.href
}

async function connectError(promise: Promise<Database>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    async (db) => {
      await db.close()
      throw new Error('expected connect() to fail')
    },
    (e: unknown) => e,
  )
  if (!isLeaklessError(error)) throw error
  return error
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((done) => server.once('listening', done))
  const { port } = server.address() as { port: number }
  await new Promise((done) => server.close(done))
  return port
}

async function publicTables(db: Database): Promise<string[]> {
  const rows = await db.execute<{ name: string }>(
    `select table_name as name from information_schema.tables where table_schema = 'public' and table_name = any($1) order by 1`,
    [TABLES],
  )
  return rows.map((r) => r.name)
}

let db: Database
let pglite: PGlite
let lite: Database

beforeAll(async () => {
  db = await connect()
  pglite = new PGlite()
  lite = await connect({ db: pgliteDrizzle(pglite) })
})

afterAll(async () => {
  await db?.close()
  await lite?.close()
  await pglite?.close()
})

describe('connect', () => {
  it('connects with the URL inherited from the global setup', async () => {
    expect(db.driver).toBe('postgres-js')
    expect(db.source).toBe('url')
    const [row] = await db.execute<{ name: string }>('select current_database() as name')
    expect(row!.name).toBe(db.target.database)
    expect(db.target.port).toBe(target.port)
  })

  it.each([
    ['postgres-js', () => db],
    ['pglite', () => lite],
  ])('execute() returns rows on %s, for strings with params and sql templates', async (driver, get) => {
    const handle = get()
    expect(handle.driver).toBe(driver)
    expect(await handle.execute<{ n: number; s: string }>('select $1::int as n, $2::text as s', [7, 'x'])).toEqual([
      { n: 7, s: 'x' },
    ])
    expect(await handle.execute(sql`select ${'y'}::text as s union all select 'z' order by 1`)).toEqual([
      { s: 'y' },
      { s: 'z' },
    ])
    expect(await handle.execute('select 1 as one where false')).toEqual([])
  })

  it('wraps a drizzle instance without owning it: close() leaves its client open', async () => {
    expect(lite.source).toBe('drizzle')
    expect(lite.target).toEqual({ host: null, port: null, database: null })
    const again = await connect({ db: pgliteDrizzle(pglite) })
    await again.close()
    expect(pglite.closed).toBe(false)
    expect(await lite.execute('select 1 as one')).toEqual([{ one: 1 }])
  })

  it('detects postgres.js under a drizzle instance passed in and reads its target', async () => {
    const own = await connect({ url: urlWith({}), max: 2 })
    const wrapped = await connect({ db: own.drizzle })
    expect(wrapped).toMatchObject({ driver: 'postgres-js', source: 'drizzle', target: own.target })
    await wrapped.close()
    expect(await wrapped.execute('select 1 as one')).toEqual([{ one: 1 }])
    await own.close()
  })

  it('rejects a refused port with DB_UNREACHABLE naming host and port and what to do', async () => {
    const port = await freePort()
    const error = await connectError(
      connect({ env: { DATABASE_URL: `postgres://postgres:secret-pw@127.0.0.1:${port}/app` } }),
    )
    expect(error.code).toBe('DB_UNREACHABLE')
    expect(error.message).toContain(`Is PostgreSQL running on 127.0.0.1:${port}?`)
    expect(error.message).toContain('unset DATABASE_URL to use the embedded PostgreSQL')
    expect(error.message).not.toContain('secret-pw')
  })

  it('rejects a server that never answers with DB_TIMEOUT', async () => {
    const silent: Server = createServer(() => {}).listen(0, '127.0.0.1')
    await new Promise((done) => silent.once('listening', done))
    const { port } = silent.address() as { port: number }
    try {
      const error = await connectError(
        connect({ url: `postgres://u@127.0.0.1:${port}/app`, healthCheckTimeoutMs: 300 }),
      )
      expect(error.code).toBe('DB_TIMEOUT')
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.message).toContain('300 ms')
    } finally {
      silent.close()
    }
  })

  it('rejects a missing database with DB_NOT_FOUND and the createdb command', async () => {
    const name = `leakless_missing_${process.pid}`
    const error = await connectError(connect({ url: urlWith({ database: name }) }))
    const { host, port } = db.target
    expect(error.code).toBe('DB_NOT_FOUND')
    expect(error.message).toContain(`Database "${name}" does not exist on PostgreSQL at ${host}:${port}`)
    expect(error.message).toContain(`createdb -h ${host} -p ${port} -U postgres ${name}`)
  })

  it('rejects an unknown role with DB_AUTH_FAILED', async () => {
    const error = await connectError(connect({ url: urlWith({ user: 'leakless_no_such_role', password: '' }) }))
    expect(error.code).toBe('DB_AUTH_FAILED')
    expect(error.message).toContain('leakless_no_such_role')
  })

  it('rejects a wrong password with DB_AUTH_FAILED on the password-authenticated embedded server', async () => {
    const attempt = connect({ url: urlWith({ password: 'not-the-password' }) })
    if (target.embedded) {
      const error = await connectError(attempt)
      expect(error.code).toBe('DB_AUTH_FAILED')
      expect(error.message).toContain(`refused user "postgres" for database "${db.target.database}"`)
      expect(error.message).not.toContain('not-the-password')
    } else {
      // The machine's server trusts local connections: any password gets in.
      const trusted = await attempt
      expect(await trusted.execute('select 1 as one')).toEqual([{ one: 1 }])
      await trusted.close()
    }
  })

  it('rejects a drizzle instance on another driver, or no drizzle instance at all, with DB_UNSUPPORTED', async () => {
    const mock = await connectError(connect({ db: postgresDrizzle.mock() }))
    expect(mock.code).toBe('DB_UNSUPPORTED')
    expect(mock.message).toContain('got a drizzle PostgresJsDatabase over a plain object client')
    const plain = await connectError(connect({ db: { execute: () => [] } as unknown as AnyPgDatabase }))
    expect(plain.code).toBe('DB_UNSUPPORTED')
    expect(plain.message).toContain('got a plain object')
  })

  it('requires a URL when the embedded PostgreSQL is disabled', async () => {
    const error = await connectError(connect({ env: {}, embedded: false }))
    expect(error.message).toContain('Set DATABASE_URL')
  })
})

describe('ensureSchema', () => {
  it('migrates from two connections at once; both succeed and the tables exist', async () => {
    // On the embedded server a fresh database makes both callers really race; the machine's server is left as is.
    const fresh = target.embedded ? await startEmbedded({ database: `leakless_migrate_${process.pid}` }) : null
    const url = fresh?.url ?? urlWith({})
    const [a, b] = await Promise.all([connect({ url }), connect({ url })])
    try {
      if (fresh) expect(await publicTables(a)).toEqual([])
      await Promise.all([
        ensureSchema(a, { migrationsFolder: MIGRATIONS }),
        ensureSchema(b, { migrationsFolder: MIGRATIONS }),
      ])
      expect(await publicTables(a)).toEqual(TABLES)
      const [applied] = await b.execute<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations')
      expect(applied!.n).toBe(1)
    } finally {
      await Promise.all([a.close(), b.close()])
      if (fresh) await db.execute(`drop database "leakless_migrate_${process.pid}"`)
    }
  })

  it('migrates PGlite, also when called twice at once', async () => {
    await Promise.all([
      ensureSchema(lite, { migrationsFolder: MIGRATIONS }),
      ensureSchema(lite, { migrationsFolder: MIGRATIONS }),
    ])
    expect(await publicTables(lite)).toEqual(TABLES)
  })

  it('reports a failing migration as MIGRATION_FAILED with the folder and the statement', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'leakless-migrations-'))
    try {
      mkdirSync(join(folder, 'meta'))
      const entry = { idx: 0, version: '7', when: 4_000_000_000_000, tag: '0000_broken', breakpoints: true }
      writeFileSync(
        join(folder, 'meta/_journal.json'),
        JSON.stringify({ version: '7', dialect: 'postgresql', entries: [entry] }),
      )
      writeFileSync(
        join(folder, '0000_broken.sql'),
        'CREATE TABLE "broken" ("id" int);\n--> statement-breakpoint\nSELECT 1/0;',
      )
      const error = await ensureSchema(lite, { migrationsFolder: folder }).then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      )
      expect(error?.code).toBe('MIGRATION_FAILED')
      expect(error?.message).toContain(folder)
      expect(error?.message).toContain('division by zero (statement: SELECT 1/0;)')
      expect(await lite.execute(`select to_regclass('broken') as t`)).toEqual([{ t: null }])
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('reports a missing migrations folder as MIGRATION_FAILED', async () => {
    const error = await ensureSchema(lite, { migrationsFolder: 'no/such/folder' }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    )
    expect(error?.code).toBe('MIGRATION_FAILED')
    expect(error?.message).toMatch(/no\/such\/folder failed: .*_journal\.json/)
  })
})

describe('startEmbedded', () => {
  it('attaches to the server the global setup started instead of starting another', async () => {
    if (!target.embedded) {
      // Running against DATABASE_URL: there is no embedded server to attach to.
      expect(target.url).toBe(process.env.DATABASE_URL)
      return
    }
    const server = await startEmbedded()
    expect(server).toMatchObject({ startedHere: false, port: target.port })
    await server.stop() // does nothing for an attached server
    expect(await db.execute('select 1 as one')).toEqual([{ one: 1 }])
  })
})
