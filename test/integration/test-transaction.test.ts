/**
 * `isolation: 'transaction'` under the Vitest adapter: a scope whose database is a test transaction.
 * Its factories (and their journal rows) write inside it only, nested transactions are savepoints, the
 * rollback leaves nothing, and a row committed through another connection with the scope's prefix is
 * still reported by the worker's close.
 */
import { count, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { schema, users } from '../../factories/index.js'
import { createRun, defineFactory, type RunContext } from '../../src/index.js'
import type { DrizzleDatabase } from '../../src/run/index.js'
import { openTestTransaction } from '../../src/vitest/test-transaction.js'
import { drivers } from './drivers.js'

// An untagged row (bigserial key): the insert journals its key in the run registry.
const activity = defineFactory(schema.activity, (f) => ({ userId: f.ref(users), action: 'visited' }))

const usersOf = async (db: DrizzleDatabase, prefix: string) =>
  (
    await db
      .select({ n: count() })
      .from(schema.users)
      .where(sql`starts_with(${schema.users.id}, ${prefix})`)
  )[0]!.n
const journalOf = async (db: DrizzleDatabase, prefix: string) => {
  const result = await db.execute(sql`select count(*)::int as n from leakless.untagged where prefix = ${prefix}`)
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ n: number }>
  return rows[0]!.n
}

// PGlite is one connection: nothing outside the transaction can read while it is open.
describe.each(drivers.filter((d) => d.name !== 'pglite'))('$name: a scope on a test transaction', (driver) => {
  it('writes inside it only, rolls back to nothing, and a row committed outside is reported at close', async () => {
    const db = await driver.open()
    let run: RunContext | undefined
    try {
      run = await createRun({ db, factories: { users, activity } })
      const outside = run.db!
      const transaction = await openTestTransaction(run, outside)
      const scope = run.scope('in a transaction', { db: transaction.tx })
      expect(scope.db).toBe(transaction.tx)
      const f = scope.bind({ users, activity })
      await f.users.createList(2)
      await f.activity.create()
      await transaction.tx
        .transaction(async (savepoint) => {
          await savepoint.insert(schema.users).values({ id: scope.id(), email: scope.email(), name: 'Undone' })
          savepoint.rollback()
        })
        .catch(() => {})
      expect(await usersOf(transaction.tx, scope.prefix)).toBe(3)
      expect(await journalOf(transaction.tx, scope.prefix)).toBe(1)
      // Another connection sees none of it…
      expect(await usersOf(outside, scope.prefix)).toBe(0)
      expect(await journalOf(outside, scope.prefix)).toBe(0)
      // …and what it commits with the test's ids is not the transaction's to roll back.
      const committed = scope.id('committed')
      await outside.insert(schema.users).values({ id: committed, email: scope.email(), name: 'Committed' })

      await transaction.rollback()
      scope.rolledBack()
      expect(await usersOf(outside, scope.prefix)).toBe(1)
      expect(await journalOf(outside, scope.prefix)).toBe(0)
      expect(run.ledger.size).toBe(0)

      const report = await run.close()
      expect(report.clean).toBe(false)
      expect(report.leftBehind.rows.map((row) => [row.table, row.key])).toEqual([['public.users', { id: committed }]])
      expect(report.audit.clean).toBe(true)
      expect(await usersOf(outside, scope.prefix)).toBe(0)
      run = undefined
    } finally {
      await run?.close()
      await db.close()
    }
  })
})
