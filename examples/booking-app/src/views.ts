import { html } from 'hono/html'
import type { User } from '../../../factories/schema.js'
import type { BookingWithInstructor } from './bookings.js'
import type { InstructorWithSlots } from './instructors.js'

/** What a page handler returns: escaped HTML (every interpolated value is escaped by `html`). */
export type Page = ReturnType<typeof html>

const STYLE = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav form{margin-left:auto}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee}
.error{color:#a00;font-weight:600}label{display:block;margin:.5rem 0}`

/** A slot as the pages show it (UTC, like the forms read it). */
export function formatSlot(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function layout(title: string, user: User | null, body: unknown): Page {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · Booking</title>
        <style>
          ${STYLE}
        </style>
      </head>
      <body>
        <nav>
          <strong>Booking</strong>
          ${
            user
              ? html`<a href="/bookings">My bookings</a><a href="/instructors">Instructors</a>
                  <form method="post" action="/logout">
                    <span data-testid="signed-in-as">${user.email}</span> <button>Log out</button>
                  </form>`
              : html`<a href="/signup">Sign up</a><a href="/instructors">Instructors</a>`
          }
        </nav>
        <h1>${title}</h1>
        ${body}
      </body>
    </html>`
}

function errorLine(error: string | undefined): Page | '' {
  return error ? html`<p class="error" role="alert">${error}</p>` : ''
}

export function signupPage(form: { name?: string; email?: string; error?: string } = {}): Page {
  return layout(
    'Sign up',
    null,
    html`${errorLine(form.error)}
      <form method="post" action="/signup">
        <label>Name <input name="name" required maxlength="100" value="${form.name ?? ''}" /></label>
        <label>E-mail <input name="email" type="email" required value="${form.email ?? ''}" /></label>
        <button>Sign up</button>
      </form>`,
  )
}

export function bookingsPage(input: {
  user: User
  bookings: BookingWithInstructor[]
  instructors: InstructorWithSlots[]
  /** The instructor the form starts with (from /instructors' "Book" link). */
  selected?: string
}): Page {
  const { user, bookings, instructors } = input
  const rows = bookings.map(
    (b) =>
      html`<tr data-booking-id="${b.id}">
        <td>${formatSlot(b.scheduledAt)}</td>
        <td>${b.instructorName}</td>
        <td>${b.status}</td>
        <td>${(b.amountCents / 100).toFixed(2)}</td>
        <td>
          <form method="post" action="/bookings/${b.id}/cancel"><button>Cancel</button></form>
        </td>
      </tr>`,
  )
  return layout(
    'My bookings',
    user,
    html`${
        bookings.length === 0
          ? html`<p>No bookings yet.</p>`
          : html`<table>
              <tr>
                <th>When</th>
                <th>Instructor</th>
                <th>Status</th>
                <th>Price</th>
                <th></th>
              </tr>
              ${rows}
            </table>`
      }
      <h2>Book a lesson</h2>
      <form method="post" action="/bookings">
        <label for="instructor">Instructor</label>
        <select id="instructor" name="instructorId" required>
          ${instructors.map(
            (i) => html`<option value="${i.id}" ${i.id === input.selected ? 'selected' : ''}>${i.name}</option>`,
          )}
        </select>
        <label for="slot">When (UTC, on the hour)</label>
        <input id="slot" name="scheduledAt" type="datetime-local" step="3600" required />
        <button>Book</button>
      </form>`,
  )
}

export function instructorsPage(input: {
  user: User | null
  instructors: InstructorWithSlots[]
  search: string
}): Page {
  const items = input.instructors.map(
    (i) =>
      html`<li data-instructor-id="${i.id}">
        <strong>${i.name}</strong> <a href="/bookings?instructor=${encodeURIComponent(i.id)}">Book</a> — booked:
        ${i.bookedSlots.length === 0 ? 'nothing yet' : i.bookedSlots.map(formatSlot).join(', ')}
      </li>`,
  )
  return layout(
    'Instructors',
    input.user,
    html`<form method="get" action="/instructors">
        <input name="q" type="search" placeholder="Name or e-mail" value="${input.search}" /> <button>Search</button>
      </form>
      ${
        items.length === 0
          ? html`<p>No instructors found.</p>`
          : html`<ul>
              ${items}
            </ul>`
      }`,
  )
}

/** A page that only says something: an error (409, 404) or a notice. */
export function messagePage(user: User | null, title: string, message: string): Page {
  return layout(
    title,
    user,
    html`<p class="error" role="alert">${message}</p>
      <p><a href="/bookings">Back to my bookings</a></p>`,
  )
}
