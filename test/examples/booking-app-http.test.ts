/**
 * The booking app as users run it (`npm run app`, over HTTP on a free port, against the test
 * database): sign up with the form, book through the JSON API, 409 for a taken slot, /health. Then
 * leakless removes what the app made — a user with the app's own id, its session, booking and
 * activity rows — from the tagged e-mail the test signed up with.
 */
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { factories } from '../../factories/index.js'
import { connect, createRun } from '../../src/index.js'
import { countOwnedRows, startApp, type AppServer } from './harness.js'

const url = inject('database').url
let app: AppServer

beforeAll(async () => {
  app = await startApp(url)
})
afterAll(() => app?.stop())

test('sign up, book, 409 for the same slot, /health; cleanup removes the rows the app made', async () => {
  const db = await connect({ url })
  const run = await createRun({ db, factories })
  try {
    const scope = run.scope('the booking app over HTTP')
    const instructor = await scope.bind(factories).users.trait('instructor').create({ name: 'Hopper Instructor' })
    const email = scope.email('signup')

    expect(await (await fetch(`${app.url}/health`)).json()).toEqual({ ok: true })

    const signup = await fetch(`${app.url}/signup`, {
      method: 'POST',
      body: new URLSearchParams({ name: 'Http Parent', email }),
      redirect: 'manual',
    })
    expect(signup.status).toBe(303)
    expect(signup.headers.get('location')).toBe('/bookings')
    const cookie = /^session=[^;]+/.exec(signup.headers.get('set-cookie') ?? '')?.[0] ?? ''
    expect(cookie).not.toBe('')
    expect(await (await fetch(`${app.url}/bookings`, { headers: { cookie } })).text()).toContain(email)

    const hour = 60 * 60 * 1000
    const scheduledAt = new Date((Math.ceil(Date.now() / hour) + 7 * 24) * hour).toISOString()
    const book = () =>
      fetch(`${app.url}/api/bookings`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ instructorId: instructor.id, scheduledAt }),
      })
    const booked = await book()
    expect(booked.status).toBe(201)
    const booking = (await booked.json()) as { id: string; parentId: string; scheduledAt: string }
    expect(booking.scheduledAt).toBe(scheduledAt)
    expect(booking.parentId.startsWith(scope.prefix)).toBe(false) // the app's own id

    const taken = await book()
    expect(taken.status).toBe(409)
    expect(await taken.json()).toEqual({ error: 'That slot is already taken' })
    const instructors = await (await fetch(`${app.url}/instructors?q=${encodeURIComponent(instructor.email)}`)).text()
    expect(instructors).toContain('Hopper Instructor')

    // The instructor (factory), the app's user, session, booking and activity (signed up, logged in, booked).
    expect(await countOwnedRows(url, scope.prefix)).toEqual({ users: 2, sessions: 1, bookings: 1, activity: 3 })
    const report = await scope.cleanup()
    expect(report.deleted).toEqual({
      'public.users': 2,
      'public.sessions': 1,
      'public.bookings': 1,
      'public.activity': 3,
    })
    expect(await countOwnedRows(url, scope.prefix)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
  } finally {
    const closed = await run.close()
    await db.close()
    expect(closed.audit.clean).toBe(true)
  }
})
