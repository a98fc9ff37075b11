// Only in `npm run demo -- --leak`: a test that leaks on purpose, to show the audit catching it.
import { sql } from 'drizzle-orm'
import { expect } from 'vitest'
import { test } from '../fixtures.js'

test('signs a user up and forgets a timer that writes after the test', async ({ factories, scope, db }) => {
  const user = await factories.users.create()
  expect(user.email.startsWith(scope.prefix)).toBe(true)
  // A late write, as a queue or a timer of the app would do it: after this test's cleanup ran.
  const email = scope.email('late')
  setTimeout(() => {
    // drizzle's queries run when awaited or then-ed: `then` here, since nothing awaits a timer.
    db.execute(
      sql`insert into users (id, email, name) values (${crypto.randomUUID()}, ${email}, 'Written too late')`,
    ).then(
      () => undefined,
      (error: unknown) => console.error(error),
    )
  }, 200)
})

test('meanwhile the next test runs', async () => {
  await new Promise((resolve) => setTimeout(resolve, 600))
  expect(true).toBe(true)
})
