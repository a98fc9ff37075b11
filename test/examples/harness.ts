/**
 * Helpers of the examples suite: the booking app as a real server (`npm run app`), and the rows of the
 * reference domain a run or a test owns — including the rows the app made with ids of its own.
 */
import { spawn } from 'node:child_process'
import postgres from 'postgres'
import { repoRoot } from '../adapters/harness.js'

export interface AppServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  output: () => string
  stop: () => Promise<void>
}

/** Starts `npm run app` on a free port (PORT=0) against `databaseUrl`; resolves once it prints its URL. */
export function startApp(databaseUrl: string, timeoutMs = 60_000): Promise<AppServer> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    // The outer Vitest's worker variables are not the app's business.
    if (value === undefined || /^(VITEST|TEST_|LEAKLESS_RUN$|NODE_OPTIONS$)/.test(key)) continue
    env[key] = value
  }
  Object.assign(env, { DATABASE_URL: databaseUrl, PORT: '0', NO_COLOR: '1' })
  const child = spawn('npm', ['run', 'app', '--silent'], { cwd: repoRoot, env, detached: true })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    // npm → tsx → node: the whole process group, gently first.
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
    }
    kill('SIGTERM')
    const timer = setTimeout(() => kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`npm run app printed no URL within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1]
      if (url) {
        clearTimeout(timer)
        resolve({ url, output: () => output, stop })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`npm run app exited with code ${code}:\n${output}`))
    })
  })
}

/** Rows per reference table that belong to `prefix`: tagged ids or e-mails, and everything of those users. */
export async function countOwnedRows(url: string, prefix: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<Record<string, number>>>`
      with owned as (select id from users where starts_with(id, ${prefix}) or starts_with(email, ${prefix}))
      select
        (select count(*)::int from owned) as users,
        (select count(*)::int from sessions
          where starts_with(id, ${prefix}) or user_id in (select id from owned)) as sessions,
        (select count(*)::int from bookings
          where starts_with(id, ${prefix}) or parent_id in (select id from owned)
             or instructor_id in (select id from owned)) as bookings,
        (select count(*)::int from activity where user_id in (select id from owned)) as activity`
    return row!
  } finally {
    await sql.end()
  }
}
