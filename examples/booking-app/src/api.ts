import { Hono } from 'hono'
import { currentUser, loadUser, requireApiUser, type AppEnv } from './auth.js'
import { bookSlot, cancelBooking, listBookings, parseSlot } from './bookings.js'
import type { Db } from './db.js'
import { AppError } from './errors.js'

/**
 * The JSON API, mirroring the booking forms; signed in by the same session cookie. Errors are
 * `{ error }` with the status of the rule that refused (see the app's onError).
 */
export function apiRoutes(db: Db): Hono<AppEnv> {
  const api = new Hono<AppEnv>()
  api.use(loadUser(db), requireApiUser)

  api.get('/bookings', async (c) => c.json(await listBookings(db, currentUser(c).id)))

  api.post('/bookings', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { instructorId?: unknown; scheduledAt?: unknown } | null
    const { instructorId, scheduledAt } = body ?? {}
    if (typeof instructorId !== 'string' || instructorId === '') {
      throw new AppError(400, 'Send JSON { "instructorId": string, "scheduledAt": ISO time }')
    }
    const booking = await bookSlot(db, {
      parentId: currentUser(c).id,
      instructorId,
      scheduledAt: parseSlot(scheduledAt),
    })
    return c.json(booking, 201)
  })

  api.delete('/bookings/:id', async (c) => {
    await cancelBooking(db, { bookingId: c.req.param('id'), parentId: currentUser(c).id })
    return c.body(null, 204)
  })

  return api
}
