import { and, asc, desc, eq, gt, inArray, or, sql } from 'drizzle-orm'
import { bookings, users, type User } from '../../../factories/schema.js'
import type { Db } from './db.js'

/** An instructor and the slots already booked ahead. */
export interface InstructorWithSlots extends User {
  bookedSlots: Date[]
}

/**
 * Instructors, newest first (at most `limit`), each with its upcoming booked slots. `search` keeps
 * those whose name or e-mail contains it (case-insensitive; plain text, no pattern characters).
 */
export async function listInstructors(
  db: Db,
  options: { search?: string; limit?: number } = {},
): Promise<InstructorWithSlots[]> {
  const search = options.search?.trim().toLowerCase()
  const found = await db
    .select()
    .from(users)
    .where(
      and(
        eq(users.role, 'instructor'),
        search
          ? or(sql`strpos(lower(${users.name}), ${search}) > 0`, sql`strpos(lower(${users.email}), ${search}) > 0`)
          : undefined,
      ),
    )
    .orderBy(desc(users.createdAt), asc(users.id))
    .limit(options.limit ?? 50)
  return withSlots(db, found)
}

async function withSlots(db: Db, instructors: User[]): Promise<InstructorWithSlots[]> {
  if (instructors.length === 0) return []
  const ids = instructors.map((u) => u.id)
  const slots = await db
    .select({ instructorId: bookings.instructorId, scheduledAt: bookings.scheduledAt })
    .from(bookings)
    .where(and(inArray(bookings.instructorId, ids), gt(bookings.scheduledAt, new Date())))
    .orderBy(asc(bookings.scheduledAt))
  return instructors.map((instructor) => ({
    ...instructor,
    bookedSlots: slots.filter((s) => s.instructorId === instructor.id).map((s) => s.scheduledAt),
  }))
}

/** One instructor with its upcoming booked slots, or null when `id` is no instructor. */
export async function findInstructor(db: Db, id: string): Promise<InstructorWithSlots | null> {
  const [instructor] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.role, 'instructor')))
  return instructor ? ((await withSlots(db, [instructor]))[0] ?? null) : null
}
