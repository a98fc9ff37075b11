/** Booking through the pages, signed in with `loginAs`: one parent, two racing parents, and who sees what. */
import type { Page } from '@playwright/test'
import { eq } from 'drizzle-orm'
import { schema } from '../../../factories/index.js'
import { formatSlot } from '../../booking-app/src/views.js'
import { SESSION_COOKIE } from '../../booking-app/src/auth.js'
import { bookButton, expect, fillBookingForm, slot, test } from '../fixtures.js'

const bookingRows = (page: Page) => page.locator('tr[data-booking-id]')

test('books an instructor through the form', async ({ page, factories, loginAs, db }) => {
  const parent = await factories.users.create()
  const instructor = await factories.users.trait('instructor').create()
  await loginAs(parent)

  await fillBookingForm(page, instructor.id, slot(1))
  await expect(page.getByTestId('signed-in-as')).toHaveText(parent.email)
  await bookButton(page).click()

  await expect(page).toHaveURL(/\/bookings$/)
  await expect(bookingRows(page)).toHaveCount(1)
  await expect(bookingRows(page)).toContainText(instructor.name)
  await expect(bookingRows(page)).toContainText(formatSlot(slot(1)))
  const made = await db.select().from(schema.bookings).where(eq(schema.bookings.instructorId, instructor.id))
  // The app's row (its own uuid): cleanup deletes it with the instructor it cannot exist without.
  expect(made).toMatchObject([{ parentId: parent.id, status: 'confirmed', scheduledAt: slot(1) }])
})

test('two parents race for one slot: one books it, the other sees it is taken', async ({
  page,
  browser,
  baseURL,
  factories,
  loginAs,
  db,
}) => {
  const instructor = await factories.users.trait('instructor').create()
  const [alice, bob] = await factories.users.createList(2)
  await loginAs(alice!)
  // Bob browses in a context of his own; his session comes from the factory loginAs uses.
  const bobSession = await factories.sessions.create({ userId: bob })
  const bobContext = await browser.newContext({ baseURL })
  try {
    await bobContext.addCookies([{ name: SESSION_COOKIE, value: bobSession.token, url: baseURL! }])
    const pages = [page, await bobContext.newPage()]
    await Promise.all(pages.map((p) => fillBookingForm(p, instructor.id, slot(2))))

    await Promise.all(pages.map((p) => bookButton(p).click()))
    // Either page ends on a booking listed, or on the alert; before the click it showed neither.
    const outcomes = await Promise.all(
      pages.map(async (p) => {
        await expect(p.locator('tr[data-booking-id], [role="alert"]').first()).toBeVisible()
        return (await p.getByRole('alert').count()) > 0 ? 'taken' : 'booked'
      }),
    )
    expect([...outcomes].sort()).toEqual(['booked', 'taken'])
    const winner = pages[outcomes.indexOf('booked')]!
    const loser = pages[outcomes.indexOf('taken')]!
    await expect(loser.getByRole('alert')).toHaveText('That slot is already taken')
    await expect(bookingRows(winner)).toHaveCount(1)
    await expect(bookingRows(winner)).toContainText(instructor.name)

    const made = await db.select().from(schema.bookings).where(eq(schema.bookings.instructorId, instructor.id))
    expect(made.map((b) => b.parentId)).toEqual([outcomes[0] === 'booked' ? alice!.id : bob!.id])
    await loser.goto('/bookings')
    await expect(loser.getByText('No bookings yet.')).toBeVisible()
  } finally {
    await bobContext.close()
  }
})

test('my bookings shows only mine', async ({ page, factories, loginAs }) => {
  const instructor = await factories.users.trait('instructor').create()
  const [me, someone] = await factories.users.createList(2)
  // One instructor, two parents: the factory gives each booking of a test its own slot.
  const mine = await factories.bookings.trait('confirmed').create({ parentId: me, instructorId: instructor })
  const theirs = await factories.bookings.trait('confirmed').create({ parentId: someone, instructorId: instructor })
  await loginAs(me!)

  await page.goto('/bookings')
  await expect(bookingRows(page)).toHaveCount(1)
  await expect(page.locator(`tr[data-booking-id="${mine.id}"]`)).toContainText(instructor.name)
  await expect(page.locator(`tr[data-booking-id="${theirs.id}"]`)).toHaveCount(0)
  // The other booking is there: the instructor's page shows both slots as booked.
  await page.goto(`/instructors?q=${encodeURIComponent(instructor.email)}`)
  const listed = page.locator(`li[data-instructor-id="${instructor.id}"]`)
  await expect(listed).toContainText(formatSlot(mine.scheduledAt))
  await expect(listed).toContainText(formatSlot(theirs.scheduledAt))
})
