/**
 * What a leak report says about rows no factory made (an app's sign-up: a user, a team, a membership and
 * activity rows): the test whose prefix they carry, "written outside a factory", and every one of them.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit, cleanupPrefix, createRun, formatAuditReport, type Database, type RunContext } from '../../src/index.js'
import { createRunTag } from '../../src/ids/run-tag.js'
import { describeProcesses } from '../../src/registry/processes.js'
import { forgetRunIfDone, readRuns } from '../../src/registry/registry.js'
import { formatCloseReport } from '../../src/lifecycle/report.js'
import { serialApp } from '../fixtures/serial-app.js'
import { drivers } from './drivers.js'

const THIS_FILE = /test\/integration\/audit-origin\.test\.ts:\d+:\d+/g

describe.each(drivers)('leak origins on $name', (driver) => {
  let db: Database
  const app = serialApp(`origin_${randomBytes(4).toString('hex')}`)
  const schemas = ['public', app.schema]
  const runs: RunContext[] = []
  const signUp = async (email: string) => {
    for (const { text, params } of app.signUp(email)) await db.execute(text, params)
    // A second activity row, as the app logs the first visit after a sign-up.
    await db.execute(
      `insert into "${app.schema}".activity_logs (team_id, user_id, action)
       select m.team_id, m.user_id, 'FIRST_VISIT' from "${app.schema}".team_members m
       join "${app.schema}".users u on u.id = m.user_id where u.email = $1`,
      [email],
    )
  }
  const everyRow = {
    [`${app.schema}.users`]: 1,
    [`${app.schema}.teams`]: 1,
    [`${app.schema}.team_members`]: 1,
    [`${app.schema}.activity_logs`]: 2,
  }

  beforeAll(async () => {
    db = await driver.open()
    for (const statement of app.ddl) await db.execute(statement)
  })

  afterAll(async () => {
    for (const run of runs) await run.close()
    await db?.execute(`drop schema if exists "${app.schema}" cascade`)
    await db?.close()
  })

  const open = async (factories: Record<string, unknown>) => {
    const run = await createRun({ db, factories, cleanup: { schemas } })
    runs.push(run)
    return run
  }

  it("names the test and 'written outside a factory' for the app's rows, never a factory row's line", async () => {
    const run = await open(app.factories)
    const scope = run.scope('signs up')
    const team = await scope.bind(app.factories).teams.create()
    await signUp(scope.email('signup'))

    const report = await audit({ db, prefix: scope.prefix, ledger: scope.ledger.entries, schemas })
    expect(report.tables).toEqual({ ...everyRow, [`${app.schema}.teams`]: 2 })
    for (const row of report.rows) {
      const made = row.table === `${app.schema}.teams` && row.key.id === team.id
      expect(row, JSON.stringify(row)).toMatchObject({ test: 'signs up', factory: made })
      if (made) expect(row.caller).toMatch(THIS_FILE)
      else expect(row.caller).toBeNull()
    }
    const text = formatAuditReport(report)
    expect(text.split('\n')[0]).toBe(`leakless audit ${scope.prefix}: 6 rows left in 4 tables`)
    expect(text.match(THIS_FILE)).toHaveLength(1)
    expect(text.match(/written outside a factory/g)).toHaveLength(5)
    await scope.cleanup()
  })

  it('a late sign-up (after its test’s cleanup) is reported at the worker’s close with every row it left', async () => {
    const run = await open(app.factories)
    const scope = run.scope('signs up late')
    await scope.bind(app.factories).teams.create()
    await scope.cleanup()
    await signUp(scope.email('signup'))

    const closed = await run.close()
    expect(closed.clean).toBe(false)
    expect(closed.leftBehind.tables).toEqual(everyRow)
    for (const row of closed.leftBehind.rows) {
      expect(row, JSON.stringify(row)).toMatchObject({ test: 'signs up late', caller: null, factory: false })
    }
    const text = formatCloseReport(closed)
    expect(text).toContain(`leakless audit ${run.prefix}: 5 rows left in 4 tables`)
    expect(text.match(/written outside a factory/g)).toHaveLength(5)
    // The worker's cleanup removed them all.
    expect(closed.audit.clean).toBe(true)
  })

  it('a sign-up written after its worker closed is named at the end of the run, from the registry', async () => {
    // Its own run tag: the only process of its run, so its close forgets the run as the last worker's does.
    const run = await createRun({ db, factories: app.factories, cleanup: { schemas }, runTag: createRunTag() })
    const scope = run.scope('signs up after its worker closed')
    await scope.bind(app.factories).teams.create()
    await scope.cleanup()
    expect((await run.close()).clean).toBe(true)
    expect(await readRuns(db, run.runTag)).toEqual([])
    await signUp(scope.email('signup'))

    // What the run's teardown sees in another process: no ledger, no scope names, only the database.
    const report = await audit({ db, runTag: run.runTag, deep: true, schemas })
    expect(report.tables).toEqual(everyRow)
    for (const row of report.rows) {
      expect(row, JSON.stringify(row)).toMatchObject({
        test: 'signs up after its worker closed',
        caller: null,
        factory: false,
        provenance: { processPrefix: run.prefix, worker: run.worker, pid: run.pid },
      })
    }
    const text = formatAuditReport(report)
    expect(text.split('\n')[0]).toBe(`leakless audit ${run.runTag}-: 5 rows left in 4 tables`)
    expect(text).toContain('test "signs up after its worker closed"')
    expect(text.match(/written outside a factory/g)).toHaveLength(5)
    expect(text).toContain(`w${run.worker} p${run.pid}`)

    // As the teardown does: the columns the deep audit found the tags in.
    const tagColumns: Record<string, string[]> = {}
    for (const row of report.rows) if (row.column !== null) (tagColumns[row.table] ??= []).push(row.column)
    await cleanupPrefix(db, run.prefix, {
      schemas,
      tagColumns,
      nullableDependents: { [`${app.schema}.activity_logs`]: 'delete' },
    })
    expect((await audit({ db, runTag: run.runTag, deep: true, schemas })).clean).toBe(true)
    // The end of the run forgets the closed process's record too.
    await forgetRunIfDone(db, run.runTag, { final: true })
    expect(await describeProcesses(db, [run.prefix])).toEqual(new Map())
  })

  it("the run's deep audit (the teardown's) counts the dependents of rows only a deep scan finds", async () => {
    // No factory for users or teams: no tag column is known for them, only the deep scan finds the sign-up.
    const run = await open({ counters: app.factories.counters })
    const scope = run.scope('signs up, the process dies')
    await signUp(scope.email('signup'))

    const report = await audit({ db, prefix: run.prefix, deep: true, schemas })
    expect(report.tables).toEqual(everyRow)
    for (const row of report.rows)
      expect(row.provenance, JSON.stringify(row)).toMatchObject({ scopePrefix: scope.prefix })
    expect(formatAuditReport(report).split('\n')[0]).toBe(`leakless audit ${run.prefix}: 5 rows left in 4 tables`)
    await run.close()
  })
})
