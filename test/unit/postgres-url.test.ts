import { describe, expect, it } from 'vitest'
import { parsePostgresUrl } from '../../src/db/postgres-url.js'

describe('parsePostgresUrl', () => {
  it('reads host URLs as before', () => {
    expect(parsePostgresUrl('postgres://alice:pw@db.internal:6543/app_test?sslmode=disable')).toMatchObject({
      user: 'alice',
      host: 'db.internal',
      port: 6543,
      database: 'app_test',
      socketDir: null,
    })
    expect(parsePostgresUrl('postgresql://127.0.0.1/test')).toMatchObject({ host: '127.0.0.1', port: 5432, user: null })
  })

  it("reads libpq's unix-socket forms that WHATWG URL refuses, and moves the socket out of the driver's URL", () => {
    const parsed = parsePostgresUrl('postgres://user@/db?host=/var/run/postgresql')
    expect(parsed).toMatchObject({ user: 'user', host: '/var/run/postgresql', port: 5432, database: 'db' })
    expect(parsed!.socketDir).toBe('/var/run/postgresql')
    expect(parsed!.driverUrl).not.toContain('host=')
    expect(parsePostgresUrl('postgres:///test?host=%2Ftmp%2Fpg&port=5433')).toMatchObject({
      host: '/tmp/pg',
      port: 5433,
      database: 'test',
      socketDir: '/tmp/pg',
    })
    expect(parsePostgresUrl('postgres://u:p%40ss@/d?host=/s&application_name=x')!.driverUrl).toContain(
      'application_name=x',
    )
  })

  it('is null for anything that is not a PostgreSQL URL', () => {
    for (const url of ['mysql://u@h/d', 'not a url', '', 'postgres:/missing-slashes', 'http://h/d'])
      expect(parsePostgresUrl(url)).toBeNull()
  })
})
