import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'

/** The app under test, started once per Playwright worker on a port of its own (`use: { appServer }`). */
export interface AppServerOptions {
  /** Shell command that starts the app; it must listen on `127.0.0.1:$PORT` (the port is chosen per worker). */
  command: string
  /** Path answering 2xx once the app is ready. @default '/' */
  health?: string
  /** Environment for the app, over the worker's own (which has `DATABASE_URL` and `LEAKLESS_RUN`). @default {} */
  env?: Record<string, string>
  /** Working directory of the command. @default the Playwright config's folder */
  cwd?: string
  /** How long the app may take to answer its health URL. @default 30_000 */
  timeoutMs?: number
}

/** A started app: its URL (the worker's `baseURL`), and how to stop it. */
export interface AppServer {
  readonly url: string
  readonly port: number
  /** Everything the app printed so far (stdout and stderr). */
  output(): string
  /** SIGTERM to the app's process group, SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>
}

const STOP_GRACE_MS = 5_000
const POLL_MS = 100
const ATTEMPTS = 3

/** A port the kernel just handed out on 127.0.0.1, free when this returns. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Checks `use: { appServer }`: a command, and well-typed optional fields. */
export function checkAppServerOptions(options: unknown): AppServerOptions {
  const o = options as Partial<AppServerOptions> | null
  const bad = (why: string): never => {
    throw new ConfigError(
      'CONFIG_INVALID',
      `appServer: ${why}; got ${describeValue(options)}. Pass { command: 'node server.js', health: '/health' }: the command starts your app on $PORT.`,
      { details: {} },
    )
  }
  if (typeof o !== 'object' || o === null) return bad('expected an object')
  if (typeof o.command !== 'string' || o.command.trim() === '') bad('command must be a non-empty string')
  if (o.health !== undefined && (typeof o.health !== 'string' || !o.health.startsWith('/')))
    bad('health must be a path starting with "/"')
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === 'number' && o.timeoutMs > 0))
    bad('timeoutMs must be a positive number')
  if (o.env !== undefined && (typeof o.env !== 'object' || Object.values(o.env).some((v) => typeof v !== 'string')))
    bad('env must map names to strings')
  return o as AppServerOptions
}

/**
 * Starts the app on a free port and waits until its health path answers 2xx (bounded by `timeoutMs`).
 * A port taken between choosing and listening is retried on another; an app that exits first, or does
 * not answer in time, fails with its output.
 */
export async function startAppServer(
  input: AppServerOptions,
  defaults: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<AppServer> {
  const options = checkAppServerOptions(input)
  let last: Error | undefined
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const port = await freePort()
    const app = launch(options, port, defaults)
    try {
      await waitUntilReady(app, options)
      return app
    } catch (error) {
      await app.stop()
      last = error as Error
      if (!/EADDRINUSE/.test(app.output())) throw error
    }
  }
  throw last!
}

function launch(options: AppServerOptions, port: number, defaults: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const child = spawn(options.command, {
    shell: true,
    // Its own process group: the shell and everything it started are stopped together.
    detached: true,
    cwd: options.cwd ?? defaults.cwd,
    env: { ...(defaults.env ?? process.env), ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    exited,
    output: () => output,
    stop: () => stopProcess(child, exited),
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name)
    } catch {
      // Already gone.
    }
  }
  signal('SIGTERM')
  const timer = setTimeout(() => signal('SIGKILL'), STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

async function waitUntilReady(app: ReturnType<typeof launch>, options: AppServerOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const health = `${app.url}${options.health ?? '/'}`
  const deadline = Date.now() + timeoutMs
  let exitCode: number | null | undefined
  void app.exited.then((code) => (exitCode = code))
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new ConfigError(
        'APP_SERVER_FAILED',
        `appServer: \`${options.command}\` exited (code ${exitCode}) before ${health} answered. Its output:\n${tail(app.output())}`,
        { details: { command: options.command, exitCode, port: app.port } },
      )
    }
    try {
      const response = await fetch(health, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) })
      await response.arrayBuffer()
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new ConfigError(
    'APP_SERVER_TIMEOUT',
    `appServer: ${health} did not answer 2xx within ${timeoutMs} ms after \`${options.command}\` started. Check that the app listens on $PORT (here ${app.port}) and serves that path, or raise timeoutMs. Its output:\n${tail(app.output())}`,
    { details: { command: options.command, port: app.port, timeoutMs } },
  )
}

function tail(output: string): string {
  const lines = output.trimEnd().split('\n')
  return lines.slice(-20).join('\n') || '(nothing)'
}
