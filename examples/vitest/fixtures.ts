import { factories } from '../../factories/index.js'
import { leaklessTest, type LeaklessFixtures } from 'leakless/vitest'
import { createApp } from '../booking-app/src/app.js'
import { recordRun } from '../support/demo-stats.js'

/**
 * leakless's `test` with the reference factories, plus `app`: the booking app on the test file's
 * connection. `app.request()` runs a request in-process, so no port is needed.
 */
export const test = leaklessTest({ factories })
  .extend('app', { scope: 'file' }, ({ db }) => createApp(db))
  // For `npm run demo`'s report: what each test's factories made (nothing is written outside the demo).
  .extend('demoStats', { scope: 'file', auto: true }, ({ run }, { onCleanup }) => {
    onCleanup(() => recordRun(run, 'vitest'))
  })

export type Factories = LeaklessFixtures<typeof factories>['factories']

const HOUR = 60 * 60 * 1000
// Fixed when the file loads, so that slot(n) is the same slot all through a test, even across the hour.
const WEEK_AHEAD = Math.ceil(Date.now() / HOUR) + 7 * 24

/** A lesson slot on the hour, a week and `hours` hours ahead (each test books fresh instructors). */
export function slot(hours = 0): Date {
  return new Date((WEEK_AHEAD + hours) * HOUR)
}

/** A parent made by the factories, signed in: its session row and the `Cookie` header that carries it. */
export async function signedInParent(f: Factories) {
  const parent = await f.users.trait('parent').create()
  const session = await f.sessions.create({ userId: parent.id })
  return { parent, cookie: `session=${session.token}` }
}

/** Which worker process ran a file: the outer test counts them. */
export function logWorker(file: string, prefix: string): void {
  console.log(`EXAMPLE_WORKER file=${file} pool=${process.env.VITEST_POOL_ID} pid=${process.pid} prefix=${prefix}`)
}
