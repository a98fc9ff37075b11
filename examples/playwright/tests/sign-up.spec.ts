/**
 * Sign-up through the app's form. The app makes the user (with an id of its own: a uuid), its session
 * and activity rows; the test only hands it a tagged e-mail (`scope.email()`). Cleanup finds the user
 * by that e-mail and deletes it with everything that hangs on it.
 */
import { eq } from 'drizzle-orm'
import { schema } from '../../../factories/index.js'
import { expect, test } from '../fixtures.js'

test('signs up through the form and lands on my bookings', async ({ page, scope, db }) => {
  const email = scope.email('signup')
  await page.goto('/signup')
  await page.getByLabel('Name').fill('Pat Parent')
  await page.getByLabel('E-mail').fill(email)
  await page.getByRole('button', { name: 'Sign up' }).click()

  await expect(page).toHaveURL(/\/bookings$/)
  await expect(page.getByRole('heading', { name: 'My bookings' })).toBeVisible()
  await expect(page.getByTestId('signed-in-as')).toHaveText(email)
  await expect(page.getByText('No bookings yet.')).toBeVisible()

  const [user] = await db.select().from(schema.users).where(eq(schema.users.email, email))
  expect(user).toMatchObject({ name: 'Pat Parent', role: 'parent' })
  expect(user!.id.startsWith(scope.prefix)).toBe(false) // the app's own id: only the e-mail is tagged
  expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user!.id))).toHaveLength(1)
  const trail = await db.select().from(schema.activity).where(eq(schema.activity.userId, user!.id))
  expect(trail.map((a) => a.action).sort()).toEqual(['logged in', 'signed up'])
})
