import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { factories } from '../../factories/index.js'
import { connect, type Database } from '../../src/db/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { createRun, decodeId, type RunContext } from '../../src/index.js'
import { REGISTRY_VERSION } from '../../src/registry/registry-sql.js'
import { deleteByPrefix } from './drivers.js'

const root = resolve(import.meta.dirname, '../..')

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the real CLI from source, with the suite's DATABASE_URL / LEAKLESS_DATABASE_URL. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
    cwd: root,
    env: { ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('close', (code) => done({ code, stdout, stderr }))
  })
}

const line = (key: string, value: string | number) => new RegExp(`^${key}: +${value}$`, 'm')

describe('leakless CLI', () => {
  let db: Database
  let run: RunContext

  beforeAll(async () => {
    db = await connect()
    // A run tag of its own: `audit --run` sees only what this file makes.
    run = await createRun({ db, runTag: createRunTag() })
  })

  afterAll(async () => {
    if (run) await deleteByPrefix(db, run.runPrefix)
    await db?.close()
  })

  it('--version prints the version of package.json; --help lists the commands', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default
    const [v, help, auditHelp] = await Promise.all([cli(['--version']), cli(['--help']), cli(['audit', '--help'])])
    expect(v.code).toBe(0)
    expect(v.stdout).toContain(`leakless/${version}`)
    expect(help.code).toBe(0)
    for (const command of ['decode', 'audit', 'sweep', 'registry', 'db', 'init']) expect(help.stdout).toContain(command)
    expect(auditHelp.code).toBe(0)
    expect(auditHelp.stdout).toContain('--run <tag>')
  })

  it('decode prints who made an id, or one JSON object with --json', async () => {
    const scope = run.scope('decodes an e-mail')
    const email = scope.email('parent')
    const [text, json] = await Promise.all([cli(['decode', email]), cli(['decode', email, '--json'])])
    expect(text).toMatchObject({ code: 0, stderr: '' })
    // A run with the registry has short ids: the process number, not the worker and pid.
    expect(run.processNumber).not.toBeNull()
    expect(text.stdout).toMatch(line('process', run.processNumber!))
    expect(text.stdout).toMatch(line('worker', '-'))
    expect(text.stdout).toMatch(line('scope', scope.number))
    expect(text.stdout).toMatch(line('runTag', run.runTag))
    expect(text.stdout).toMatch(line('time', run.startedAt.toISOString().replace(/\./g, '\\.')))

    expect(json.code).toBe(0)
    const decoded = decodeId(email)!
    expect(JSON.parse(json.stdout)).toEqual({ ...decoded, time: decoded.time.toISOString() })
  })

  it('decode of a value that is not a leakless id exits 1', async () => {
    const result = await cli(['decode', 'test@example.com'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('"test@example.com" is not a leakless id')
  })

  it('audit exits 1 and names the leaked row, then 0 once the run is cleaned', async () => {
    const leaky = run.scope('leaks a user')
    const user = await leaky.bind(factories).users.create()

    const [json, text, byPrefix] = await Promise.all([
      cli(['audit', '--run', run.runTag, '--json']),
      cli(['audit', '--run', run.runTag]),
      cli(['audit', '--prefix', leaky.prefix, '--json']),
    ])
    expect(json.code, json.stderr).toBe(1)
    const report = JSON.parse(json.stdout)
    expect(report).toMatchObject({ prefix: run.runPrefix, clean: false, tables: { 'public.users': 1 } })
    expect(report.rows).toHaveLength(1)
    expect(report.rows[0]).toMatchObject({
      table: 'public.users',
      key: { id: user.id },
      column: 'id',
      provenance: { worker: run.worker, pid: run.pid, scopePrefix: leaky.prefix },
    })

    expect(text.code).toBe(1)
    expect(text.stdout.split('\n')[0]).toBe(`leakless audit ${run.runPrefix}: 1 row left in 1 table`)
    expect(text.stdout).toContain(`id=${user.id}`)

    expect(byPrefix.code).toBe(1)
    expect(JSON.parse(byPrefix.stdout).prefix).toBe(leaky.prefix)

    await run.cleanup()
    const clean = await cli(['audit', '--json'], { ...process.env, LEAKLESS_RUN: run.runTag })
    expect(clean.code, clean.stderr).toBe(0)
    expect(JSON.parse(clean.stdout)).toMatchObject({ prefix: run.runPrefix, clean: true, rows: [] })
  })

  it('audit finds rows no primary key marks: by discovery in a small table, and by the tag columns of leakless.config.ts (--config)', async () => {
    const table = `cli_config_${createRunTag().slice(-6)}`
    const dir = mkdtempSync(join(tmpdir(), 'leakless-cli-config-'))
    try {
      await db.execute(`create table public.${table} (id serial primary key, ref text not null)`)
      const scope = run.scope('tags an integer-keyed row')
      await db.execute(`insert into public.${table} (ref) values ($1)`, [scope.id()])
      const good = join(dir, 'leakless.config.ts')
      writeFileSync(good, `export default { tagColumns: { 'public.${table}': ['ref'] } }\n`)
      const bad = join(dir, 'bad.config.ts')
      writeFileSync(bad, `export default { tagColumn: {} }\n`)

      const [without, withConfig, broken] = await Promise.all([
        cli(['audit', '--prefix', scope.prefix, '--json']),
        cli(['audit', '--prefix', scope.prefix, '--json', '--config', good]),
        cli(['audit', '--prefix', scope.prefix, '--config', bad]),
      ])
      // A small table is scanned for the prefix in every text column, declared or not.
      expect(without.code, without.stderr).toBe(1)
      expect(JSON.parse(without.stdout).rows).toMatchObject([{ table: `public.${table}`, column: 'ref' }])
      expect(withConfig.code, withConfig.stderr).toBe(1)
      expect(JSON.parse(withConfig.stdout).rows).toMatchObject([{ table: `public.${table}`, column: 'ref' }])
      expect(broken.code).toBe(2)
      expect(broken.stderr).toContain('Unknown option "tagColumn"')
    } finally {
      await db.execute(`drop table if exists public.${table}`)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('registry shows what the database knows of a run, refuses to drop it while a run lives, and checks --run', async () => {
    const scope = run.scope('registered')
    await scope.bind(factories).users.create()
    const [json, human, drop, bad] = await Promise.all([
      cli(['registry', '--run', run.runTag, '--json']),
      cli(['registry', '--run', run.runTag]),
      cli(['registry', '--drop']),
      cli(['registry', '--run', 'nope']),
    ])
    expect(json.code, json.stderr).toBe(0)
    const shown = JSON.parse(json.stdout)
    expect(shown).toMatchObject({ schema: 'leakless', version: REGISTRY_VERSION })
    expect(shown.runs).toEqual([
      expect.objectContaining({
        runTag: run.runTag,
        processes: [expect.objectContaining({ prefix: run.prefix, closedAt: null })],
        tagColumns: { 'public.users': expect.arrayContaining(['id', 'email']) },
      }),
    ])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(new RegExp(`^${run.runTag}  started .* processes 1 \\(1 open\\)$`, 'm'))
    expect(human.stdout).toMatch(/^ {2}tags {3}public\.users: (id, email|email, id)$/m)
    expect(drop.code).toBe(2)
    expect(drop.stderr).toContain(`Refusing to drop the run registry`)
    expect(drop.stderr).toContain(run.prefix)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--run "nope" is not a run tag')
    await scope.cleanup()
  })

  it('audit exits 2 with a message when it does not know the run or the run tag is invalid', async () => {
    const { LEAKLESS_RUN: _unset, ...env } = process.env
    const [missing, invalid] = await Promise.all([cli(['audit'], env), cli(['audit', '--run', 'not-a-tag'], env)])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('pass --run <tag>')
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(/^leakless: --run "not-a-tag" is not a run tag\. Use a run tag of 14 characters/)
    expect(invalid.stderr).not.toMatch(/\n\s+at /) // no stack
  })

  it('sweep --dry-run --json reports without deleting; a bad duration exits 2', async () => {
    const [dry, human, bad] = await Promise.all([
      cli(['sweep', '--dry-run', '--older-than', '0', '--json']),
      cli(['sweep', '--dry-run', '--run', createRunTag()]),
      cli(['sweep', '--older-than', '1 hour']),
    ])
    expect(dry.code, dry.stderr).toBe(0)
    const report = JSON.parse(dry.stdout)
    expect(report).toMatchObject({ dryRun: true, olderThanMs: 0 })
    expect(Array.isArray(report.swept) && Array.isArray(report.skipped)).toBe(true)

    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^leakless sweep \(dry run\): nothing to sweep/)

    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('30s, 15m, 1h, 2d or 0')
  })

  it('bad input exits 2 with one line before anything runs: a negative duration, a flag with a value, a schema the database lacks', async () => {
    const tag = createRunTag()
    const [negative, flagValue, sweepSchema, auditSchema, twoSchemas] = await Promise.all([
      cli(['sweep', '--older-than', '-1h']),
      cli(['sweep', '--dry-run=true', '--run', tag]),
      cli(['sweep', '--dry-run', '--schema', 'nonexistent']),
      cli(['audit', '--run', tag, '--schema', 'nonexistent']),
      cli(['audit', '--run', tag, '--schema', 'public', '--schema', 'Public']),
    ])
    for (const result of [negative, flagValue, sweepSchema, auditSchema, twoSchemas]) {
      expect(result.code, result.stderr).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    }
    expect(negative.stderr).toContain('--older-than "-1h" is not a duration. Use a whole number with a unit')
    expect(flagValue.stderr).toContain('--dry-run takes no value (got "--dry-run=true")')
    const database = db.target.database!
    for (const result of [sweepSchema, auditSchema]) {
      expect(result.stderr).toMatch(
        new RegExp(
          `^leakless: schema "nonexistent" \\(--schema\\) does not exist in database ${database}\\. Its schemas: [^\\n]*\\bpublic\\b`,
        ),
      )
      for (const hidden of ['pg_catalog', 'pg_toast', 'information_schema', 'leakless,', 'leakless.']) {
        expect(result.stderr).not.toContain(hidden)
      }
    }
    expect(twoSchemas.stderr).toContain('schema "Public" (--schema) does not exist')
  })

  describe('db start | url | stop', () => {
    let parent = ''
    let dataDir = ''

    beforeAll(() => {
      parent = mkdtempSync(join(tmpdir(), 'leakless-cli-'))
      dataDir = join(parent, 'pg')
      // As root the server runs as the system user "postgres", which must be able to enter the directory.
      chmodSync(parent, 0o755)
    })

    afterAll(async () => {
      if (parent === '') return
      if (existsSync(join(dataDir, 'postmaster.pid'))) await cli(['db', 'stop', '--data-dir', dataDir])
      rmSync(parent, { recursive: true, force: true })
    })

    it('starts a server that outlives the CLI, prints its URL, and stops it', async () => {
      const before = await cli(['db', 'url', '--data-dir', dataDir])
      expect(before.code).toBe(1)
      expect(before.stderr).toContain('No embedded PostgreSQL is running')

      const start = await cli(['db', 'start', '--data-dir', dataDir])
      expect(start.code, start.stderr).toBe(0)
      const url = start.stdout.trim()
      expect(url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/leakless_test$/)
      expect(start.stderr).toContain('Started the embedded PostgreSQL')

      // The CLI has exited: the server still answers.
      const attached = await connect({ url })
      expect(await attached.execute<{ one: number }>('select 1 as one')).toEqual([{ one: 1 }])
      await attached.close()

      const again = await cli(['db', 'url', '--data-dir', dataDir])
      expect(again).toMatchObject({ code: 0, stdout: `${url}\n` })
      const startAgain = await cli(['db', 'start', '--data-dir', dataDir])
      expect(startAgain).toMatchObject({ code: 0, stdout: `${url}\n` })
      expect(startAgain.stderr).toContain('already running')

      const stop = await cli(['db', 'stop', '--data-dir', dataDir])
      expect(stop.code, stop.stderr).toBe(0)
      expect(stop.stdout).toContain('Stopped the embedded PostgreSQL')
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false)

      const after = await cli(['db', 'url', '--data-dir', dataDir])
      expect(after.code).toBe(1)
      const stopAgain = await cli(['db', 'stop', '--data-dir', dataDir])
      expect(stopAgain.code).toBe(0)
      expect(stopAgain.stdout).toContain('nothing to stop')
    })
  })
})
