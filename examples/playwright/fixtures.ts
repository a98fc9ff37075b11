import { join } from 'node:path'
import { expect, type Page } from '@playwright/test'
import { leaklessTest } from 'leakless/playwright'
import { factories } from '../../factories/index.js'
import type { User } from '../../factories/schema.js'
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

/** A parent of the worker, signed in once: the storage state (cookies) every test of the worker starts with. */
export interface WorkerParent {
  user: User
  storageState: string
}

/**
 * `test` for tests that share one signed-in parent per worker (Playwright's "one account per worker"
 * pattern). The user and its session are made on the worker's scope 0 (`run.outside`), not in a
 * test: no test's cleanup deletes them, and the worker's close does when the worker ends.
 */
export const signedInTest = test.extend<Record<never, never>, { workerParent: WorkerParent }>({
  workerParent: [
    async ({ run, browser }, use, workerInfo) => {
      const f = run.outside.bind(factories)
      const user = await f.users.trait('parent').create()
      const session = await f.sessions.create({ userId: user })
      const baseURL = workerInfo.project.use.baseURL!
      const context = await browser.newContext({ baseURL })
      await context.addCookies([
        { name: SESSION_COOKIE, value: session.token, url: baseURL, httpOnly: true, sameSite: 'Lax' },
      ])
      const page = await context.newPage()
      await page.goto('/bookings')
      await expect(page.getByTestId('signed-in-as')).toHaveText(user.email)
      // Per worker index, not per parallel slot: a restarted worker makes a user (and a file) of its own.
      const storageState = join(workerInfo.project.outputDir, '.auth', `worker-${workerInfo.workerIndex}.json`)
      await context.storageState({ path: storageState })
      await context.close()
      await use({ user, storageState })
    },
    { scope: 'worker' },
  ],
  storageState: ({ workerParent }, use) => use(workerParent.storageState),
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
