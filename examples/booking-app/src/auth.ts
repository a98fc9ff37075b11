import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { User } from '../../../factories/schema.js'
import type { Db } from './db.js'
import { SESSION_TTL_MS, userOfSession } from './sessions.js'

/** The session cookie: it holds the session's token (what leakless's Playwright `loginAs` sets too). */
export const SESSION_COOKIE = 'session'

/** What a request knows after {@link loadUser}: the signed-in user (or null) and the session token. */
export interface AppEnv {
  Variables: { user: User | null; token: string | null }
}

/** Reads the session cookie and puts the user it belongs to on the request (null when none or expired). */
export function loadUser(db: Db): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE) ?? null
    c.set('token', token)
    c.set('user', token ? await userOfSession(db, token) : null)
    await next()
  }
}

/** Pages for signed-in users only: everyone else goes to /signup. */
export const requirePageUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('user')) return c.redirect('/signup', 303)
  await next()
}

/** The JSON API for signed-in users only: 401 otherwise. */
export const requireApiUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('user')) return c.json({ error: 'Not signed in' }, 401)
  await next()
}

/** The signed-in user of a route behind {@link requirePageUser} or {@link requireApiUser}. */
export function currentUser(c: Context<AppEnv>): User {
  const user = c.get('user')
  if (!user) throw new Error('currentUser() outside requirePageUser/requireApiUser')
  return user
}

export function setSessionCookie(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/' })
}
