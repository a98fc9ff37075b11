/**
 * `loginAs` with the app's own sign-in (`login: { cookies }`), under the real Playwright: the files of
 * docs/playwright.md "Apps that sign their own cookie" as written, against an app that signs nobody in
 * without a valid HS256 JWT in its session cookie.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, inject, test } from 'vitest'
import { sectionFiles } from '../support/doc-section.js'
import { countRunRows, createRunTag, freePort, removeProject, repoRoot, run, writeProject } from './harness.js'

const database = inject('database')
const fixture = (name: string) => readFileSync(new URL(`./fixtures/playwright/${name}`, import.meta.url), 'utf8')

// The app: "Signed in as <email>" only for a cookie signed with AUTH_SECRET, not expired, of a user that exists.
const SERVER = `import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import postgres from 'postgres'

const sql = postgres(process.env.DATABASE_URL, { max: 2, onnotice: () => {} })
const secret = process.env.AUTH_SECRET

function verify(token) {
  const [header, claims, signature] = token.split('.')
  if (!signature) return null
  const expected = createHmac('sha256', secret).update(header + '.' + claims).digest()
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'))
  return payload.exp > Date.now() / 1000 ? payload : null
}

http
  .createServer(async (req, res) => {
    if (req.url === '/health') return res.end('ok')
    const token = /(?:^|;\\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
    const claims = token ? verify(decodeURIComponent(token)) : null
    const [user] = claims ? await sql\`select email from users where id = \${claims.sub}\` : []
    res.setHeader('content-type', 'text/html')
    res.end('<!doctype html><title>app</title><p id="who">' + (user ? 'Signed in as ' + user.email : 'Signed out') + '</p>')
  })
  .listen(Number(process.env.APP_PORT), '127.0.0.1')
`

// Beside the docs' spec: a cookie signed with another secret is refused, so the docs' test proves the signature.
const FORGED_SPEC = `import { expect, test } from './fixtures.js'
import { signSession } from './session-token.js'

test('a cookie signed with another secret signs nobody in', async ({ page, factories, loginAs }) => {
  const user = await factories.users.create()
  const exp = Math.floor(Date.now() / 1000) + 3600
  await loginAs(user, { cookies: ({ user }) => ({ name: 'session', value: signSession({ sub: user.id, exp }, 'not-the-secret') }) })
  await page.goto('/')
  await expect(page.locator('#who')).toHaveText('Signed out')
})
`

describe('loginAs with login.cookies under the real Playwright', () => {
  test("docs/playwright.md's JWT example signs the factory user in; a forged cookie does not; no row is left", async () => {
    const docs = sectionFiles('docs/playwright.md', '## Apps that sign their own cookie')
    expect(Object.keys(docs).sort()).toEqual(['e2e/fixtures.ts', 'e2e/home.spec.ts', 'e2e/session-token.ts'])
    const dir = writeProject('playwright-login-hook', {
      ...docs,
      'e2e/forged.spec.ts': FORGED_SPEC,
      'factories/index.ts': `export * from ${JSON.stringify(`${repoRoot}factories/index.ts`)}\n`,
      'playwright.config.ts': fixture('playwright.config.ts').replace("testDir: './tests'", "testDir: './e2e'"),
      'server.mjs': SERVER,
      'tsconfig.json': fixture('tsconfig.json'),
      'leakless.config.ts': `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${JSON.stringify(`${repoRoot}factories/migrations`)} })\n`,
    })
    try {
      const runTag = createRunTag()
      const result = await run(process.execPath, [`${repoRoot}node_modules/@playwright/test/cli.js`, 'test'], {
        cwd: dir,
        env: {
          DATABASE_URL: database.url,
          APP_PORT: String(await freePort()),
          AUTH_SECRET: randomBytes(16).toString('hex'),
          LEAKLESS_RUN: runTag,
        },
        timeoutMs: 120_000,
      })
      expect(result.output).toContain('2 passed')
      expect(result.code, result.output).toBe(0)
      expect(await countRunRows(database.url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
    } finally {
      removeProject(dir)
    }
  })
})
