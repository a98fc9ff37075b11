/**
 * One signed-in parent per worker, reused by every test of the worker through its storage state:
 * nobody logs in again. The tests of this file run in order in one worker, so they share it.
 */
import { eq } from 'drizzle-orm'
import { schema } from '../../../factories/index.js'
import { bookButton, expect, fillBookingForm, signedInTest as test, slot } from '../fixtures.js'

test.describe.configure({ mode: 'default' })

test.beforeEach(({ workerUser }, testInfo) => {
  // Which worker ran the test with which parent: the examples suite checks the reuse.
  console.log(`EXAMPLE_WORKER_LOGIN worker=${testInfo.workerIndex} user=${workerUser.user.id}`)
})

test("the worker's parent is signed in from the storage state", async ({ page, workerUser, db }) => {
  await page.goto('/bookings')
  await expect(page.getByTestId('signed-in-as')).toHaveText(workerUser.user.email)
  // One session for the whole worker, made before its first test.
  const sessions = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, workerUser.user.id))
  expect(sessions).toHaveLength(1)
})

test("books an instructor with the worker's login", async ({ page, workerUser, factories }) => {
  const instructor = await factories.users.trait('instructor').create()
  await fillBookingForm(page, instructor.id, slot(3))
  await expect(page.getByTestId('signed-in-as')).toHaveText(workerUser.user.email)
  await bookButton(page).click()
  // The booking goes with this test's instructor; the worker's parent stays for the next test.
  await expect(page.locator('tr[data-booking-id]', { hasText: instructor.name })).toHaveCount(1)
})

test("lists a factory booking of the worker's parent", async ({ page, workerUser, factories }) => {
  const booking = await factories.bookings.trait('confirmed').create({ parentId: workerUser.user })
  await page.goto('/bookings')
  await expect(page.getByTestId('signed-in-as')).toHaveText(workerUser.user.email)
  await expect(page.locator(`tr[data-booking-id="${booking.id}"]`)).toContainText('confirmed')
})
