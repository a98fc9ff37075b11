import type { BrowserContext } from '@playwright/test'
import { ConfigError } from '../errors.js'

/** A cookie as `context.addCookies()` takes it. */
export type LoginCookie = Parameters<BrowserContext['addCookies']>[0][number]

/**
 * A cookie returned by the `login.cookies` hook: `name` and `value`, the rest optional. Without `url`
 * or `domain` it is set for the origin of the test's `baseURL` (or `login.url` / `login.domain`).
 */
export interface LoginCookieInput {
  name: string
  value: string
  url?: string
  domain?: string
  /** @default '/' (with `domain`) */
  path?: string
  /** Unix time in seconds, or a Date. @default a session cookie */
  expires?: number | Date
  /** @default `login.httpOnly`, else true */
  httpOnly?: boolean
  /** @default `login.secure`, else from the URL's scheme */
  secure?: boolean
  /** @default `login.sameSite`, else 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None'
}

/** Where a cookie goes and its defaults: the login options that apply to every cookie. */
export interface CookieDefaults {
  /** The URL the cookie is set for. @default the origin of the test's `baseURL` */
  url?: string
  /** Domain (with `path`) instead of `url`. @default none */
  domain?: string
  /** @default '/' (with `domain`) */
  path?: string
  /** @default true */
  httpOnly?: boolean
  /** Only with `domain`; with a URL, Playwright takes it from the scheme (https). @default false */
  secure?: boolean
  /** @default 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None'
}

/** @internal A cookie for `context.addCookies()`: the input's own attributes over the login defaults. */
export function cookieFor(input: LoginCookieInput, defaults: CookieDefaults, baseURL: string | undefined): LoginCookie {
  const secure = input.secure ?? defaults.secure
  const expires = input.expires instanceof Date ? Math.floor(input.expires.getTime() / 1000) : input.expires
  const attributes = {
    name: input.name,
    value: input.value,
    httpOnly: input.httpOnly ?? defaults.httpOnly ?? true,
    sameSite: input.sameSite ?? defaults.sameSite ?? 'Lax',
    ...(secure === undefined ? {} : { secure }),
    ...(expires === undefined ? {} : { expires }),
  }
  const domain = input.url === undefined ? (input.domain ?? defaults.domain) : undefined
  if (domain !== undefined) return { ...attributes, domain, path: input.path ?? defaults.path ?? '/' }
  const url = input.url ?? defaults.url
  if (url) return { ...attributes, url }
  if (!baseURL) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `loginAs() does not know which site the "${input.name}" cookie is for: set use.baseURL in playwright.config (or webServer.url), or pass login: { url } (or { domain }).`,
      { details: { option: 'login.url', cookie: input.name } },
    )
  }
  // The app's session cookie is for the whole site, not for the path baseURL may end in.
  return { ...attributes, url: new URL(baseURL).origin }
}

/** @internal The hook's answer as a list of cookies, or a ConfigError that says what was wrong. */
export function hookCookies(returned: unknown): LoginCookieInput[] {
  const list = Array.isArray(returned) ? (returned as unknown[]) : [returned]
  const bad = list.findIndex(
    (c) =>
      typeof c !== 'object' ||
      c === null ||
      typeof (c as LoginCookieInput).name !== 'string' ||
      (c as LoginCookieInput).name === '' ||
      typeof (c as LoginCookieInput).value !== 'string',
  )
  if (list.length === 0 || bad !== -1) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `loginAs(): the login.cookies hook returned ${list.length === 0 ? 'no cookies' : `${describeValue(list[bad])}${Array.isArray(returned) ? ` at index ${bad}` : ''}`}, not a cookie. Return { name, value } (or a list of them) with string values, e.g. { name: 'session', value: signToken(user) }.`,
      { details: { option: 'login.cookies' } },
    )
  }
  return list as LoginCookieInput[]
}

/** @internal */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object') return typeof value
  const keys = Object.keys(value)
  return keys.length ? `an object with ${keys.join(', ')}` : 'an empty object'
}
