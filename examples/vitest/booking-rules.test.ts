/** The booking rules (examples/booking-app/src/bookings.ts) on the test file's connection. */
import { and, eq } from 'drizzle-orm'
import { expect } from 'vitest'
import { schema } from '../../factories/index.js'
import { bookSlot, cancelBooking, LESSON_PRICE_CENTS, listBookings } from '../booking-app/src/bookings.js'
import { SlotTakenError } from '../booking-app/src/errors.js'
import { logWorker, slot, test } from './fixtures.js'

test.beforeAll(({ run }) => logWorker('booking-rules', run.prefix))

test('books a lesson and records it in the activity trail', async ({ factories, db }) => {
  const [parent, instructor] = await Promise.all([
    factories.users.trait('parent').create(),
    factories.users.trait('instructor').create(),
  ])
  const booking = await bookSlot(db, { parentId: parent.id, instructorId: instructor.id, scheduledAt: slot() })

  expect(booking).toMatchObject({ parentId: parent.id, instructorId: instructor.id, status: 'confirmed' })
  expect(booking.amountCents).toBe(LESSON_PRICE_CENTS)
  expect(booking.scheduledAt).toEqual(slot())
  const trail = await db.select().from(schema.activity).where(eq(schema.activity.userId, parent.id))
  expect(trail.map((a) => a.action)).toEqual([`booked ${booking.id}`])
})

test('refuses a second booking of the same slot', async ({ factories, db }) => {
  const [first, second] = await factories.users.trait('parent').createList(2)
  const instructor = await factories.users.trait('instructor').create()
  const at = { instructorId: instructor.id, scheduledAt: slot(3) }
  await bookSlot(db, { parentId: first!.id, ...at })

  const refused = bookSlot(db, { parentId: second!.id, ...at })
  await expect(refused).rejects.toBeInstanceOf(SlotTakenError)
  await expect(refused).rejects.toMatchObject({ status: 409, message: 'That slot is already taken' })
  // The other slots of that instructor are still free.
  await expect(bookSlot(db, { parentId: second!.id, ...at, scheduledAt: slot(4) })).resolves.toBeDefined()
})

test('cancels a booking: only its parent can, and the slot is free again', async ({ factories, db }) => {
  const booking = await factories.bookings.create({ scheduledAt: slot(), status: 'confirmed' })
  const other = await factories.users.trait('parent').create()

  await expect(cancelBooking(db, { bookingId: booking.id, parentId: other.id })).rejects.toMatchObject({ status: 404 })
  const cancelled = await cancelBooking(db, { bookingId: booking.id, parentId: booking.parentId })
  expect(cancelled.id).toBe(booking.id)
  expect(await db.select().from(schema.bookings).where(eq(schema.bookings.id, booking.id))).toEqual([])
  await expect(cancelBooking(db, { bookingId: booking.id, parentId: booking.parentId })).rejects.toMatchObject({
    status: 404,
  })

  const rebooked = await bookSlot(db, { parentId: other.id, instructorId: booking.instructorId, scheduledAt: slot() })
  expect(rebooked.parentId).toBe(other.id)
})

test("lists only the parent's own bookings, soonest first", async ({ factories, db }) => {
  const [mine, theirs] = await factories.users.trait('parent').createList(2)
  const instructor = await factories.users.trait('instructor').create({ name: 'Ada Instructor' })
  const book = (parentId: string, hours: number) =>
    bookSlot(db, { parentId, instructorId: instructor.id, scheduledAt: slot(hours) })
  const later = await book(mine!.id, 5)
  const sooner = await book(mine!.id, 1)
  const other = await book(theirs!.id, 2)

  const listed = await listBookings(db, mine!.id)
  expect(listed.map((b) => b.id)).toEqual([sooner.id, later.id])
  expect(listed.every((b) => b.instructorName === 'Ada Instructor')).toBe(true)
  expect((await listBookings(db, theirs!.id)).map((b) => b.id)).toEqual([other.id])
})

test('5 parents race for one slot: exactly one wins', async ({ factories, db }) => {
  const parents = await factories.users.trait('parent').createList(5)
  const instructor = await factories.users.trait('instructor').create()
  const scheduledAt = slot(6)

  const attempts = await Promise.allSettled(
    parents.map((p) => bookSlot(db, { parentId: p.id, instructorId: instructor.id, scheduledAt })),
  )
  const won = attempts.filter((a) => a.status === 'fulfilled')
  const lost = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason] : []))
  expect(won).toHaveLength(1)
  expect(lost).toHaveLength(4)
  for (const reason of lost) expect(reason).toBeInstanceOf(SlotTakenError)
  const booked = await db
    .select()
    .from(schema.bookings)
    .where(and(eq(schema.bookings.instructorId, instructor.id), eq(schema.bookings.scheduledAt, scheduledAt)))
  expect(booked).toHaveLength(1)
})

test('slots start on the hour, in the future, with an instructor', async ({ factories, db }) => {
  const [parent, otherParent] = await factories.users.trait('parent').createList(2)
  const instructor = await factories.users.trait('instructor').create()
  const book = (instructorId: string, scheduledAt: Date) =>
    bookSlot(db, { parentId: parent!.id, instructorId, scheduledAt })

  await expect(book(instructor.id, new Date(slot().getTime() + 60_000))).rejects.toMatchObject({ status: 422 })
  await expect(book(instructor.id, slot(-8 * 24))).rejects.toMatchObject({ message: 'That time has passed' })
  await expect(book(otherParent!.id, slot())).rejects.toMatchObject({ status: 404, message: 'No such instructor' })
  await expect(book(parent!.id, slot())).rejects.toMatchObject({ message: 'You cannot book yourself' })
  await expect(book(instructor.id, slot())).resolves.toBeDefined()
})
