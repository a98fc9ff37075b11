import { randomUUID } from 'node:crypto'
import { and, asc, eq } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { bookings, users, type Booking } from '../../../factories/schema.js'
import { recordActivity } from './activity.js'
import type { Db } from './db.js'
import { AppError, SlotTakenError, uniqueViolation } from './errors.js'

/** Price of one lesson. */
export const LESSON_PRICE_CENTS = 4500

/** The unique key (instructor_id, scheduled_at) in factories/migrations: no slot is booked twice. */
export const SLOT_CONSTRAINT = 'bookings_instructor_slot_key'

const HOUR = 60 * 60 * 1000

/** A booking with the instructor's name, as the bookings page lists it. */
export interface BookingWithInstructor extends Booking {
  instructorName: string
}

/** Reads a slot from a form or JSON value; a time without a zone is UTC (what the pages show). */
export function parseSlot(value: unknown): Date {
  if (typeof value !== 'string' || value.trim() === '') throw new AppError(400, 'Please choose a time')
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`
  const slot = new Date(text)
  if (Number.isNaN(slot.getTime())) throw new AppError(400, `"${value}" is not a time`)
  return slot
}

/**
 * Books `instructorId` at `scheduledAt` for `parentId`: slots start on the hour, in the future, with
 * someone else. Two parents racing for one slot: the database's unique key lets one win, the other
 * gets {@link SlotTakenError}. The booking and its activity row commit together.
 */
export async function bookSlot(
  db: Db,
  input: { parentId: string; instructorId: string; scheduledAt: Date },
): Promise<Booking> {
  const { parentId, instructorId, scheduledAt } = input
  if (scheduledAt.getTime() % HOUR !== 0) throw new AppError(422, 'Lessons start on the hour')
  if (scheduledAt.getTime() <= Date.now()) throw new AppError(422, 'That time has passed')
  if (instructorId === parentId) throw new AppError(422, 'You cannot book yourself')
  const [instructor] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, instructorId), eq(users.role, 'instructor')))
  if (!instructor) throw new AppError(404, 'No such instructor')
  try {
    return await db.transaction(async (tx) => {
      const [booking] = await tx
        .insert(bookings)
        .values({
          id: randomUUID(),
          parentId,
          instructorId,
          scheduledAt,
          status: 'confirmed',
          amountCents: LESSON_PRICE_CENTS,
        })
        .returning()
      await recordActivity(tx, parentId, `booked ${booking!.id}`)
      return booking!
    })
  } catch (error) {
    if (uniqueViolation(error) === SLOT_CONSTRAINT) throw new SlotTakenError()
    throw error
  }
}

/**
 * Cancels a booking of `parentId` by deleting it, which frees the slot: the unique key covers every
 * status, so a row kept as 'cancelled' would hold the slot forever. The activity row keeps the history.
 * Someone else's booking, or none, is a 404.
 */
export async function cancelBooking(db: Db, input: { bookingId: string; parentId: string }): Promise<Booking> {
  return db.transaction(async (tx) => {
    const [booking] = await tx
      .delete(bookings)
      .where(and(eq(bookings.id, input.bookingId), eq(bookings.parentId, input.parentId)))
      .returning()
    if (!booking) throw new AppError(404, 'No such booking')
    await recordActivity(tx, input.parentId, `cancelled ${booking.id}`)
    return booking
  })
}

/** The bookings a parent made, soonest first, with their instructor's name. */
export async function listBookings(db: Db, parentId: string): Promise<BookingWithInstructor[]> {
  const instructor = alias(users, 'instructor')
  const rows = await db
    .select({ booking: bookings, instructorName: instructor.name })
    .from(bookings)
    .innerJoin(instructor, eq(instructor.id, bookings.instructorId))
    .where(eq(bookings.parentId, parentId))
    .orderBy(asc(bookings.scheduledAt))
  return rows.map(({ booking, instructorName }) => ({ ...booking, instructorName }))
}
