import { sql } from 'drizzle-orm'
import { bigserial, check, index, integer, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core'

/** Accounts of every role; the root every other table references. */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    role: text('role', { enum: ['parent', 'instructor', 'admin'] })
      .notNull()
      .default('parent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('users_role_check', sql`${t.role} in ('parent', 'instructor', 'admin')`),
    index('users_id_prefix_idx').on(t.id.op('text_pattern_ops')),
    index('users_email_prefix_idx').on(t.email.op('text_pattern_ops')),
  ],
)

/** Login sessions; deleted together with their user (the only cascading foreign key). */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    token: text('token').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('sessions_id_prefix_idx').on(t.id.op('text_pattern_ops')), index('sessions_user_id_idx').on(t.userId)],
)

/** Lessons booked by a parent with an instructor; an instructor's slot can be booked only once. */
export const bookings = pgTable(
  'bookings',
  {
    id: text('id').primaryKey(),
    parentId: text('parent_id')
      .notNull()
      .references(() => users.id),
    instructorId: text('instructor_id')
      .notNull()
      .references(() => users.id),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }).notNull(),
    status: text('status', { enum: ['pending', 'confirmed', 'cancelled'] })
      .notNull()
      .default('pending'),
    amountCents: integer('amount_cents').notNull(),
  },
  (t) => [
    unique('bookings_instructor_slot_key').on(t.instructorId, t.scheduledAt),
    check('bookings_status_check', sql`${t.status} in ('pending', 'confirmed', 'cancelled')`),
    check('bookings_amount_cents_check', sql`${t.amountCents} >= 0`),
    index('bookings_id_prefix_idx').on(t.id.op('text_pattern_ops')),
    index('bookings_parent_id_idx').on(t.parentId),
  ],
)

/** Append-only audit trail of user actions; blocks deleting a user who still has entries. */
export const activity = pgTable(
  'activity',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    action: text('action').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('activity_user_id_idx').on(t.userId)],
)

export type User = typeof users.$inferSelect
export type NewUser = typeof users.$inferInsert
export type Session = typeof sessions.$inferSelect
export type NewSession = typeof sessions.$inferInsert
export type Booking = typeof bookings.$inferSelect
export type NewBooking = typeof bookings.$inferInsert
export type Activity = typeof activity.$inferSelect
export type NewActivity = typeof activity.$inferInsert
