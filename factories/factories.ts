import { nanoid } from 'nanoid'
import { defineFactory, type TestScope } from 'leakless'
import * as schema from './schema.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/** Users of every role; e-mails start with the scope's id, so cleanup finds users the app signed up too. */
export const users = defineFactory(schema.users, (f) => ({
  id: f.id(),
  email: f.email('user'),
  name: f.faker.person.fullName(),
  role: 'parent' as const,
})).traits({
  parent: { role: 'parent' },
  instructor: { role: 'instructor' },
  admin: { role: 'admin' },
})

/** Login sessions with an unguessable token (nanoid, 32 characters); `ttlHours` is transient. */
export const sessions = defineFactory(
  schema.sessions,
  (f) => ({
    id: f.id(),
    userId: f.ref(users),
    token: nanoid(32),
    expiresAt: new Date(Date.now() + f.transient.ttlHours * HOUR),
  }),
  { transient: { ttlHours: 24 } },
).traits({
  expired: () => ({ expiresAt: new Date(Date.now() - HOUR) }),
})

/**
 * Bookings: parent and instructor are created through refs unless given. The slot is a week after
 * the run started plus this scope's booking sequence in hours: with a fresh instructor per booking
 * (the default) the unique (instructor, slot) key cannot collide between parallel tests, and a test
 * that shares one instructor between its bookings gets a new slot for each.
 */
export const bookings = defineFactory(schema.bookings, (f) => ({
  id: f.id(),
  parentId: f.ref(users.trait('parent')),
  instructorId: f.ref(users.trait('instructor')),
  scheduledAt: new Date(Math.ceil((f.scope.run.startedAt.getTime() + 7 * DAY) / HOUR) * HOUR + f.seq * HOUR),
  status: 'pending' as const,
  amountCents: f.faker.number.int({ min: 20, max: 120 }) * 100,
})).traits({
  pending: { status: 'pending' },
  confirmed: { status: 'confirmed' },
  cancelled: { status: 'cancelled' },
})

/** The reference domain's factories, ready for `scope.bind(factories)`. */
export const factories = { users, sessions, bookings }

/** A parent, an instructor and a confirmed booking between them. */
export async function bookingScenario(scope: TestScope) {
  const f = scope.bind(factories)
  const [parent, instructor] = await Promise.all([
    f.users.trait('parent').create(),
    f.users.trait('instructor').create(),
  ])
  const booking = await f.bookings.trait('confirmed').create({ parentId: parent, instructorId: instructor })
  return { parent, instructor, booking }
}
