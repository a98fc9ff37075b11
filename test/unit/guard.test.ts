import { describe, expect, it } from 'vitest'
import { checkTarget, type GuardOptions, type TargetFacts } from '../../src/db/guard.js'
import { isLeaklessError } from '../../src/errors.js'

const local: TargetFacts = { driver: 'postgres-js', database: 'app_test', serverAddress: '127.0.0.1', port: 5432 }

/** The error code of the refusal, or 'ok'; every call passes `env` so the runner's environment never leaks in. */
function verdictOf(facts: Partial<TargetFacts>, options: GuardOptions = {}): string {
  const verdict = checkTarget({ ...local, ...facts }, { env: {}, ...options })
  return verdict.ok ? 'ok' : verdict.error.code
}

function refusal(facts: Partial<TargetFacts>, options: GuardOptions = {}) {
  const verdict = checkTarget({ ...local, ...facts }, { env: {}, ...options })
  if (verdict.ok) throw new Error('expected a refusal')
  return verdict.error
}

describe('checkTarget: database name', () => {
  it.each(['test', 'app_test', 'test_app', 'app_test_2', 'leakless_test', 'TEST', 'app-test', 'Test-App', 'a-test_b'])(
    'accepts %s',
    (database) => {
      expect(verdictOf({ database })).toBe('ok')
    },
  )

  it.each(['app', 'testing', 'contest', 'attest_db', 'production', 'postgres', 'tests', 'leakless_guard_x1', ''])(
    'refuses %j',
    (database) => {
      expect(verdictOf({ database })).toBe('GUARD_DATABASE_NAME')
    },
  )

  it('lets PGlite use any name: it is in-process and shares nothing', () => {
    expect(verdictOf({ driver: 'pglite', database: 'postgres', serverAddress: null })).toBe('ok')
  })
})

describe('checkTarget: server address', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:127.9.9.9', null])(
    'accepts %s',
    (serverAddress) => {
      expect(verdictOf({ serverAddress })).toBe('ok')
    },
  )

  it.each([
    '10.0.0.5',
    '192.168.1.2',
    '128.0.0.1',
    '::ffff:10.0.0.5',
    'fe80::1',
    '2001:db8::1',
    'db.example.com',
    'localhost',
    '',
  ])('refuses %j', (serverAddress) => {
    expect(verdictOf({ serverAddress })).toBe('GUARD_REMOTE')
  })

  it('refuses a remote address on PGlite too (only the test hook can produce one)', () => {
    expect(verdictOf({ driver: 'pglite', serverAddress: '10.1.2.3' })).toBe('GUARD_REMOTE')
  })
})

describe('checkTarget: production environment', () => {
  it.each([
    { nodeEnv: 'production' },
    { nodeEnv: 'PRODUCTION' },
    { nodeEnv: ' Production ' },
    { appEnv: 'production' },
    { nodeEnv: 'test', appEnv: 'Production' },
  ])('refuses %j', (facts) => {
    expect(verdictOf(facts)).toBe('GUARD_PRODUCTION')
  })

  it.each([{ nodeEnv: 'test' }, { nodeEnv: 'development' }, { appEnv: 'staging' }, { nodeEnv: 'prod' }, {}])(
    'accepts %j',
    (facts) => {
      expect(verdictOf(facts)).toBe('ok')
    },
  )

  it('refuses PGlite in production as well', () => {
    expect(verdictOf({ driver: 'pglite', database: 'postgres', serverAddress: null, nodeEnv: 'production' })).toBe(
      'GUARD_PRODUCTION',
    )
  })
})

describe('checkTarget: order and messages', () => {
  const everything: Partial<TargetFacts> = { database: 'app', serverAddress: '10.0.0.5', nodeEnv: 'production' }

  it('reports production first, then remote, then the name', () => {
    expect(verdictOf(everything)).toBe('GUARD_PRODUCTION')
    expect(verdictOf(everything, { allowProduction: true })).toBe('GUARD_REMOTE')
    expect(verdictOf(everything, { allowProduction: true, allowRemote: true })).toBe('GUARD_DATABASE_NAME')
    expect(verdictOf(everything, { allowProduction: true, allowRemote: true, allowDatabases: ['app'] })).toBe('ok')
    expect(refusal(everything).details.refused).toEqual(['GUARD_PRODUCTION', 'GUARD_REMOTE', 'GUARD_DATABASE_NAME'])
  })

  it('is a GuardError that says what, which target, why, and the allowance', () => {
    const error = refusal(everything)
    expect(isLeaklessError(error)).toBe(true)
    expect(error.name).toBe('GuardError')
    expect(error.message).toContain('refused to run destructive SQL on database "app" at 10.0.0.5:5432 (postgres-js)')
    expect(error.message).toContain('NODE_ENV is "production"')
    expect(error.message).toContain('real data')
    expect(error.message).toContain('{ allowProduction: true } or LEAKLESS_ALLOW_PRODUCTION=1')
    // The rules that would refuse it next are named too, so fixing one does not hide the others.
    expect(error.message).toContain('allowRemote or LEAKLESS_ALLOW_REMOTE=1')
    expect(error.message).toContain('allowDatabases or LEAKLESS_ALLOW_DATABASE')
    expect(error.details).toMatchObject({ database: 'app', serverAddress: '10.0.0.5', port: 5432 })
  })

  it('names APP_ENV when that is what is production', () => {
    expect(refusal({ appEnv: 'production' }).message).toContain('APP_ENV is "production"')
  })

  it('names the remote allowance', () => {
    const { message } = refusal({ serverAddress: '192.168.1.2' })
    expect(message).toContain('the server 192.168.1.2 is not on this machine')
    expect(message).toContain('shared')
    expect(message).toContain('{ allowRemote: true } or LEAKLESS_ALLOW_REMOTE=1')
    expect(message).not.toContain('It would also be refused')
    expect(refusal({ serverAddress: '2001:db8::1' }).message).toContain('at [2001:db8::1]:5432')
  })

  it('names the database allowance with the database name', () => {
    const { message } = refusal({ database: 'app' })
    expect(message).toContain('database "app" at 127.0.0.1:5432 (postgres-js)')
    expect(message).toContain('does not look like a test database')
    expect(message).toContain("{ allowDatabases: ['app'] } or LEAKLESS_ALLOW_DATABASE=app")
    expect(refusal({ database: 'app', serverAddress: null }).message).toContain('database "app" on a unix socket')
  })
})

describe('checkTarget: allowances permit exactly their own rule', () => {
  const production: Partial<TargetFacts> = { nodeEnv: 'production' }
  const remote: Partial<TargetFacts> = { serverAddress: '10.0.0.5' }
  const name: Partial<TargetFacts> = { database: 'app' }

  const allowances: { label: string; options: GuardOptions; permits: 'production' | 'remote' | 'name' }[] = [
    { label: 'allowProduction', options: { allowProduction: true }, permits: 'production' },
    {
      label: 'LEAKLESS_ALLOW_PRODUCTION=1',
      options: { env: { LEAKLESS_ALLOW_PRODUCTION: '1' } },
      permits: 'production',
    },
    { label: 'allowRemote', options: { allowRemote: true }, permits: 'remote' },
    { label: 'LEAKLESS_ALLOW_REMOTE=1', options: { env: { LEAKLESS_ALLOW_REMOTE: '1' } }, permits: 'remote' },
    { label: 'allowDatabases', options: { allowDatabases: ['other', 'app'] }, permits: 'name' },
    { label: 'LEAKLESS_ALLOW_DATABASE', options: { env: { LEAKLESS_ALLOW_DATABASE: 'other, app' } }, permits: 'name' },
  ]

  it.each(allowances)('$label', ({ options, permits }) => {
    expect(verdictOf(production, options)).toBe(permits === 'production' ? 'ok' : 'GUARD_PRODUCTION')
    expect(verdictOf(remote, options)).toBe(permits === 'remote' ? 'ok' : 'GUARD_REMOTE')
    expect(verdictOf(name, options)).toBe(permits === 'name' ? 'ok' : 'GUARD_DATABASE_NAME')
  })

  it('reports which allowance waived which rule', () => {
    const verdict = checkTarget(
      { ...local, database: 'app', serverAddress: '10.0.0.5', appEnv: 'production' },
      { env: { LEAKLESS_ALLOW_PRODUCTION: '1', LEAKLESS_ALLOW_DATABASE: 'app' }, allowRemote: true },
    )
    expect(verdict).toEqual({
      ok: true,
      target: {
        driver: 'postgres-js',
        database: 'app',
        serverAddress: '10.0.0.5',
        port: 5432,
        allowances: ['LEAKLESS_ALLOW_PRODUCTION', 'allowRemote', 'LEAKLESS_ALLOW_DATABASE'],
      },
    })
    expect(checkTarget(local, { env: {} })).toMatchObject({ ok: true, target: { allowances: [] } })
  })

  it('takes only 1 or true as a yes', () => {
    for (const value of ['0', 'false', '', 'no', 'yes']) {
      expect(verdictOf(remote, { env: { LEAKLESS_ALLOW_REMOTE: value } })).toBe('GUARD_REMOTE')
    }
    expect(verdictOf(remote, { env: { LEAKLESS_ALLOW_REMOTE: 'TRUE' } })).toBe('ok')
  })

  it('matches allowed database names exactly', () => {
    expect(verdictOf({ database: 'App' }, { allowDatabases: ['app'] })).toBe('GUARD_DATABASE_NAME')
    expect(verdictOf({ database: 'app' }, { env: { LEAKLESS_ALLOW_DATABASE: 'app2,my_app' } })).toBe(
      'GUARD_DATABASE_NAME',
    )
    expect(verdictOf({ database: 'app' }, { allowDatabases: [] })).toBe('GUARD_DATABASE_NAME')
  })
})
