/**
 * Sign-ups through the app's form. The app makes the user's id itself (a uuid, nothing of
 * leakless's), so the test hands it a tagged e-mail (`scope.email()`): cleanup finds the user by it,
 * and with the user its session and activity rows, which no factory made.
 */
import { count, eq, like } from 'drizzle-orm'
import { expect } from 'vitest'
import { schema } from '../../factories/index.js'
import { formatSlot } from '../booking-app/src/views.js'
import { logWorker, slot, test } from './fixtures.js'

test.beforeAll(({ run }) => logWorker('sign-ups', run.prefix))

const signUp = (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, email: string) =>
  app.request('/signup', { method: 'POST', body: new URLSearchParams({ name: 'Pat Parent', email }) })

test('signs up through the form: a user, a session, the cookie, the activity', async ({ app, scope, db }) => {
  const email = scope.email('signup')
  const response = await signUp(app, email)
  expect(response.status).toBe(303)
  expect(response.headers.get('location')).toBe('/bookings')
  const cookie = /^session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[0]
  expect(cookie).toBeDefined()

  const [user] = await db.select().from(schema.users).where(eq(schema.users.email, email))
  expect(user).toMatchObject({ name: 'Pat Parent', role: 'parent' })
  expect(user!.id.startsWith(scope.prefix)).toBe(false) // the app's own id
  const trail = await db.select().from(schema.activity).where(eq(schema.activity.userId, user!.id))
  expect(trail.map((a) => a.action).sort()).toEqual(['logged in', 'signed up'])

  const page = await app.request('/bookings', { headers: { cookie: cookie! } })
  expect(page.status).toBe(200)
  expect(await page.text()).toContain(email)
})

test('an e-mail signs up once: the second time is a 409 and the form again', async ({ app, scope }) => {
  const email = scope.email('twice')
  expect((await signUp(app, email)).status).toBe(303)
  const again = await signUp(app, email)
  expect(again.status).toBe(409)
  expect(await again.text()).toContain('That e-mail is already registered')
})

test('logging out ends the session', async ({ app, scope, db }) => {
  const signedUp = await signUp(app, scope.email('logout'))
  const cookie = /^session=([^;]+)/.exec(signedUp.headers.get('set-cookie') ?? '')![0]
  const token = cookie.slice('session='.length)

  const out = await app.request('/logout', { method: 'POST', headers: { cookie } })
  expect(out.status).toBe(303)
  expect(await db.select().from(schema.sessions).where(eq(schema.sessions.token, token))).toEqual([])
  expect((await app.request('/api/bookings', { headers: { cookie } })).status).toBe(401)
})

test('100 concurrent registrations all succeed', async ({ app, scope, db }) => {
  const emails = Array.from({ length: 100 }, () => scope.email('signup'))
  const responses = await Promise.all(emails.map((email) => signUp(app, email)))
  expect(responses.map((r) => r.status)).toEqual(emails.map(() => 303))

  const [users] = await db
    .select({ n: count() })
    .from(schema.users)
    .where(like(schema.users.email, `${scope.prefix}%`))
  expect(users!.n).toBe(100)
})

test('/instructors lists instructors with their booked slots', async ({ app, factories }) => {
  const instructor = await factories.users.trait('instructor').create({ name: 'Alan Instructor' })
  const booking = await factories.bookings.create({ instructorId: instructor.id, scheduledAt: slot(1) })

  const page = await app.request(`/instructors?q=${encodeURIComponent(instructor.email)}`)
  expect(page.status).toBe(200)
  const text = await page.text()
  expect(text).toContain(`data-instructor-id="${instructor.id}"`)
  expect(text).toContain('Alan Instructor')
  expect(text).toContain(formatSlot(booking.scheduledAt))
})
