import { expect, type Page } from '@playwright/test'
import { leaklessTest } from 'leakless/playwright'
import { factories } from '../../factories/index.js'
import { SESSION_COOKIE } from '../booking-app/src/auth.js'
import { recordRun } from '../support/demo-stats.js'

export { expect }

/**
 * leakless's `test` with the reference factories: `factories`, `scope`, `db` and `loginAs` per test
 * (cleaned up after each), `run` per worker. `loginAs(user)` makes a session with the `sessions`
 * factory and sets the app's cookie, which holds the session's token.
 */
export const test = leaklessTest({ factories, login: { cookie: SESSION_COOKIE } }).extend<
  Record<never, never>,
  { demoStats: void }
>({
  // For `npm run demo`'s report: what the worker's factories made (nothing is written outside the demo).
  demoStats: [
    async ({ run }, use) => {
      await use()
      recordRun(run, 'playwright')
    },
    { scope: 'worker', auto: true },
  ],
})

/**
 * `test` for tests that share one signed-in parent per worker (Playwright's "one account per worker"
 * pattern), with leakless's `workerLogin`: each worker makes a parent with the `users` factory and its
 * session on the worker's scope 0, not in a test — no test's cleanup deletes them, the worker's close
 * does — and every test starts from that sign-in's storage state. `workerUser.user` is the parent.
 */
export const signedInTest = test.extend({
  workerLogin: {
    traits: ['parent'],
    // Checked once per worker, before its storage state is saved.
    prepare: async ({ page, user }) => {
      await page.goto('/bookings')
      await expect(page.getByTestId('signed-in-as')).toHaveText(String(user.email))
    },
  },
})

const HOUR = 60 * 60 * 1000
// Fixed when the file loads, so that slot(n) is the same slot all through a test.
const WEEK_AHEAD = Math.ceil(Date.now() / HOUR) + 7 * 24

/** A lesson slot on the hour, a week and `hours` hours ahead (each test books instructors of its own). */
export function slot(hours = 0): Date {
  return new Date((WEEK_AHEAD + hours) * HOUR)
}

/** Opens the booking form with `instructorId` chosen and `when` filled in (the form reads UTC). */
export async function fillBookingForm(page: Page, instructorId: string, when: Date): Promise<void> {
  // `?instructor=` puts the instructor first in the list, however many others the database holds.
  await page.goto(`/bookings?instructor=${encodeURIComponent(instructorId)}`)
  await page.getByLabel('Instructor', { exact: true }).selectOption(instructorId)
  await page.getByLabel('When').fill(when.toISOString().slice(0, 16))
}

/** The booking form's submit button. */
export const bookButton = (page: Page) => page.getByRole('button', { name: 'Book', exact: true })
