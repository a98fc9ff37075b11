import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { once } from 'node:events'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const script = join(root, 'test/integration/fixtures/start-embedded.ts')

interface Report {
  startedHere: boolean
  port: number
  one: number
  serverPort: number
}

function spawnStarter(dataDir: string, startAt: number): { child: ChildProcess; report: Promise<Report> } {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, START_AT: String(startAt) }
  delete env.DATABASE_URL
  delete env.LEAKLESS_DATABASE_URL
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const report = new Promise<Report>((done, fail) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      if (stdout.includes('\n')) done(JSON.parse(stdout.split('\n')[0]!) as Report)
    })
    child.once('exit', (code) => fail(new Error(`starter exited ${code} before reporting: ${stderr}`)))
  })
  return { child, report }
}

async function finish(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit')
  child.stdin!.end()
  const [code] = (await exited) as [number | null]
  return code
}

describe('startEmbedded across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leakless-embedded-'))
  // As root the server runs as the postgres system user, which must be able to enter this directory.
  chmodSync(dir, 0o755)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('starts once when two processes ask at the same moment: one starts, the other attaches', async () => {
    const dataDir = join(dir, 'pg')
    const startAt = Date.now() + 1500 // both children are loaded by then
    const a = spawnStarter(dataDir, startAt)
    const b = spawnStarter(dataDir, startAt)
    const reports = await Promise.all([a.report, b.report])

    expect(reports.map((r) => r.startedHere).sort()).toEqual([false, true])
    expect(reports[0]!.port).toBe(reports[1]!.port)
    for (const r of reports) expect(r).toMatchObject({ one: 1, serverPort: reports[0]!.port })

    // The attacher leaves first; the starter then stops the server.
    const [starter, attacher] = reports[0]!.startedHere ? [a, b] : [b, a]
    expect(await finish(attacher.child)).toBe(0)
    expect(await finish(starter.child)).toBe(0)
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false)
    expect(existsSync(`${dataDir}.lock`)).toBe(false)
  })
})
