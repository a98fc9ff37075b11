import { sql } from 'drizzle-orm'
import { Hono } from 'hono'
import { apiRoutes } from './api.js'
import type { AppEnv } from './auth.js'
import type { Db } from './db.js'
import { AppError } from './errors.js'
import { pageRoutes } from './pages.js'
import { messagePage } from './views.js'

/**
 * The booking web app on `db`: server-rendered pages, the JSON API under /api, and /health. It needs
 * no port: `app.request('/health')` runs a request in-process; `server.ts` serves it over HTTP.
 */
export function createApp(db: Db): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/health', async (c) => {
    try {
      await db.execute(sql`select 1`)
      return c.json({ ok: true })
    } catch {
      return c.json({ ok: false }, 503)
    }
  })
  app.route('/api', apiRoutes(db))
  app.route('/', pageRoutes(db))

  app.onError((error, c) => {
    const api = c.req.path.startsWith('/api/')
    if (error instanceof AppError) {
      return api
        ? c.json({ error: error.message }, error.status)
        : c.html(messagePage(c.get('user') ?? null, titleOf(error.status), error.message), error.status)
    }
    console.error(`${c.req.method} ${c.req.path} failed:`, error)
    return api ? c.json({ error: 'Something went wrong' }, 500) : c.text('Something went wrong', 500)
  })
  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: 'Not found' }, 404) : c.text('Not found', 404)))
  return app
}

function titleOf(status: number): string {
  return status === 409 ? 'Not booked' : status === 404 ? 'Not found' : 'Please check your input'
}
