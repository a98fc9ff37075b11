/**
 * The refusals both own-store modes share (isolation 'schema' and 'database'): a store of its own is
 * made from migrations, so the user's own db cannot be the store, and a configuration without
 * migrations has nothing to make it from.
 */
import { describe, expect, it } from 'vitest'
import { connect } from '../../src/db/index.js'
import { openWorkerRun } from '../../src/lifecycle/index.js'
import { migrationsFolder } from './drivers.js'

describe.each(['schema', 'database'] as const)("isolation '%s' on postgres", (isolation) => {
  it("refuses the user's own db, and a configuration without migrations", async () => {
    const config = { file: null, isolation, migrations: migrationsFolder }
    const own = await connect()
    try {
      await expect(openWorkerRun({ config, db: own.drizzle, api: 'leaklessTest()' })).rejects.toMatchObject({
        name: 'ConfigError',
        code: 'ISOLATION_UNSUPPORTED',
        message: expect.stringContaining('Drop the db option'),
      })
    } finally {
      await own.close()
    }
    await expect(openWorkerRun({ config: { file: null, isolation } })).rejects.toMatchObject({
      code: 'ISOLATION_UNSUPPORTED',
      message: expect.stringContaining('set migrations'),
    })
  })
})
