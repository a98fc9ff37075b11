import { Hono } from 'hono'
import { clearSessionCookie, currentUser, loadUser, requirePageUser, setSessionCookie, type AppEnv } from './auth.js'
import { bookSlot, cancelBooking, listBookings, parseSlot } from './bookings.js'
import type { Db } from './db.js'
import { AppError } from './errors.js'
import { findInstructor, listInstructors } from './instructors.js'
import { endSession, signUp } from './sessions.js'
import { bookingsPage, instructorsPage, signupPage } from './views.js'

const field = (form: Record<string, unknown>, name: string) => (typeof form[name] === 'string' ? form[name] : '')

/** The server-rendered pages: sign-up, logout, my bookings (book, cancel), instructors. */
export function pageRoutes(db: Db): Hono<AppEnv> {
  const pages = new Hono<AppEnv>()
  pages.use(loadUser(db))

  pages.get('/', (c) => c.redirect(c.get('user') ? '/bookings' : '/signup', 303))

  pages.get('/signup', (c) => (c.get('user') ? c.redirect('/bookings', 303) : c.html(signupPage())))

  pages.post('/signup', async (c) => {
    const form = await c.req.parseBody()
    const input = { name: field(form, 'name'), email: field(form, 'email') }
    try {
      const { session } = await signUp(db, input)
      setSessionCookie(c, session.token)
      return c.redirect('/bookings', 303)
    } catch (error) {
      if (!(error instanceof AppError)) throw error
      return c.html(signupPage({ ...input, error: error.message }), error.status)
    }
  })

  pages.post('/logout', async (c) => {
    const token = c.get('token')
    if (token) await endSession(db, token)
    clearSessionCookie(c)
    return c.redirect('/signup', 303)
  })

  pages.get('/bookings', requirePageUser, async (c) => {
    const user = currentUser(c)
    const selected = c.req.query('instructor')
    const [bookings, newest, chosen] = await Promise.all([
      listBookings(db, user.id),
      listInstructors(db, { limit: 100 }),
      selected ? findInstructor(db, selected) : null,
    ])
    const instructors = chosen ? [chosen, ...newest.filter((i) => i.id !== chosen.id)] : newest
    return c.html(bookingsPage({ user, bookings, instructors, selected: chosen?.id }))
  })

  // Errors (409 "That slot is already taken", 404, 422) become a page through the app's onError.
  pages.post('/bookings', requirePageUser, async (c) => {
    const form = await c.req.parseBody()
    const scheduledAt = parseSlot(field(form, 'scheduledAt'))
    await bookSlot(db, { parentId: currentUser(c).id, instructorId: field(form, 'instructorId'), scheduledAt })
    return c.redirect('/bookings', 303)
  })

  pages.post('/bookings/:id/cancel', requirePageUser, async (c) => {
    await cancelBooking(db, { bookingId: c.req.param('id'), parentId: currentUser(c).id })
    return c.redirect('/bookings', 303)
  })

  pages.get('/instructors', async (c) => {
    const search = c.req.query('q') ?? ''
    const instructors = await listInstructors(db, { search })
    return c.html(instructorsPage({ user: c.get('user'), instructors, search }))
  })

  return pages
}
