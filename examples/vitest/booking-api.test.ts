/** The booking app's JSON API and booking form, through `app.request()` with a session cookie. */
import { eq } from 'drizzle-orm'
import { expect } from 'vitest'
import { schema } from '../../factories/index.js'
import { logWorker, signedInParent, slot, test } from './fixtures.js'

test.beforeAll(({ run }) => logWorker('booking-api', run.prefix))

const json = (cookie: string, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { cookie, 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

test('POST /api/bookings: 201 with the booking, then 409 for the same slot', async ({ app, factories }) => {
  const { parent, cookie } = await signedInParent(factories)
  const instructor = await factories.users.trait('instructor').create()
  const body = { instructorId: instructor.id, scheduledAt: slot().toISOString() }

  const created = await app.request('/api/bookings', json(cookie, body))
  expect(created.status).toBe(201)
  expect(await created.json()).toMatchObject({
    parentId: parent.id,
    instructorId: instructor.id,
    scheduledAt: body.scheduledAt,
    status: 'confirmed',
  })

  const again = await app.request('/api/bookings', json(cookie, body))
  expect(again.status).toBe(409)
  expect(await again.json()).toEqual({ error: 'That slot is already taken' })
})

test('the booking form: booked, listed, and a taken slot is a 409 page', async ({ app, factories }) => {
  const { cookie } = await signedInParent(factories)
  const instructor = await factories.users.trait('instructor').create({ name: 'Grace Instructor' })
  const form = new URLSearchParams({ instructorId: instructor.id, scheduledAt: slot(2).toISOString().slice(0, 16) })
  const post = () => app.request('/bookings', { method: 'POST', headers: { cookie }, body: form })

  const booked = await post()
  expect(booked.status).toBe(303)
  expect(booked.headers.get('location')).toBe('/bookings')
  // /instructors links to the form with the instructor chosen.
  const page = await (await app.request(`/bookings?instructor=${instructor.id}`, { headers: { cookie } })).text()
  expect(page).toContain(`<option value="${instructor.id}" selected>Grace Instructor</option>`)
  expect(page).toContain(`${slot(2).toISOString().slice(0, 16).replace('T', ' ')} UTC`)

  const taken = await post()
  expect(taken.status).toBe(409)
  expect(await taken.text()).toContain('That slot is already taken')
})

test('DELETE /api/bookings/:id: 404 for a booking of someone else, 204 for its parent', async ({
  app,
  factories,
  db,
}) => {
  const owner = await signedInParent(factories)
  const stranger = await signedInParent(factories)
  const booking = await factories.bookings.create({ parentId: owner.parent.id, scheduledAt: slot() })
  const del = (cookie: string) => app.request(`/api/bookings/${booking.id}`, { method: 'DELETE', headers: { cookie } })

  expect((await del(stranger.cookie)).status).toBe(404)
  expect((await del(owner.cookie)).status).toBe(204)
  expect(await db.select().from(schema.bookings).where(eq(schema.bookings.id, booking.id))).toEqual([])
  expect((await del(owner.cookie)).status).toBe(404)
})

test('GET /api/bookings lists only my bookings', async ({ app, factories }) => {
  const me = await signedInParent(factories)
  const someone = await signedInParent(factories)
  const mine = await factories.bookings.createList(2, { parentId: me.parent.id })
  await factories.bookings.create({ parentId: someone.parent.id })

  const response = await app.request('/api/bookings', { headers: { cookie: me.cookie } })
  expect(response.status).toBe(200)
  const listed = (await response.json()) as Array<{ id: string; parentId: string }>
  expect(listed.map((b) => b.id).sort()).toEqual(mine.map((b) => b.id).sort())
})

test('5 concurrent requests for one slot: one 201, four 409', async ({ app, factories }) => {
  const parents = await Promise.all(Array.from({ length: 5 }, () => signedInParent(factories)))
  const instructor = await factories.users.trait('instructor').create()
  const body = { instructorId: instructor.id, scheduledAt: slot(9).toISOString() }

  const responses = await Promise.all(parents.map(({ cookie }) => app.request('/api/bookings', json(cookie, body))))
  const statuses = responses.map((r) => r.status).sort()
  expect(statuses).toEqual([201, 409, 409, 409, 409])
})

test('signed out: the API answers 401, the pages send to /signup; /health is ok', async ({ app }) => {
  const response = await app.request('/api/bookings', json('session=not-a-token', {}))
  expect(response.status).toBe(401)
  expect(await response.json()).toEqual({ error: 'Not signed in' })
  const page = await app.request('/bookings')
  expect(page.status).toBe(303)
  expect(page.headers.get('location')).toBe('/signup')
  const health = await app.request('/health')
  expect(await health.json()).toEqual({ ok: true })
})
