import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunSync } from '../../src/run/index.js'
import { createRunTag } from '../../src/ids/index.js'
import { decodeId, defineFactory, isLeaklessError, MAX_LIST_SIZE, type LeaklessError } from '../../src/index.js'
import { bookings, factories, sessions, users } from '../../factories/index.js'
import * as schema from '../../factories/schema.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-factory-'))
const newRun = (seed?: number) =>
  createRunSync({ stateDir, env: {}, runTag: createRunTag(), ...(seed === undefined ? {} : { seed }) })

function errorOf(fn: () => unknown): LeaklessError {
  try {
    fn()
  } catch (error) {
    if (isLeaklessError(error)) return error
    throw error
  }
  throw new Error('expected a LeaklessError')
}

describe('build', () => {
  it('makes a plain row from the defaults with the scope ids, no database needed', () => {
    const scope = newRun().scope('build')
    const { users: u } = scope.bind(factories)
    const user = u.build()
    expect(user.id.startsWith(scope.prefix)).toBe(true)
    expect(user.email).toMatch(/\.user@example\.test$/)
    expect(decodeId(user.email)?.scope).toBe(scope.number)
    expect(user.role).toBe('parent')
    expect(typeof user.name).toBe('string')
    expect(u.buildList(3).map((r) => r.id)).toHaveLength(3)
    expect(scope.ledger.size).toBe(0)
  })

  it('applies traits in order, then overrides', () => {
    const { users: u } = newRun().scope('traits').bind(factories)
    expect(u.trait('instructor').build().role).toBe('instructor')
    expect(u.trait('instructor', 'admin').build().role).toBe('admin')
    expect(u.trait('admin').build({ role: 'parent' }).role).toBe('parent')
    expect(users.trait('instructor').bindTo(newRun().scope('x')).build().role).toBe('instructor')
    // the same traits give the same factory, so refs to it batch into one INSERT per list
    expect(users.trait('instructor')).toBe(users.trait('instructor'))
    expect(users.trait('instructor', 'admin')).not.toBe(users.trait('instructor'))
  })

  it('is reproducible from the seed, and differs between scopes', () => {
    const a = newRun(42).scope('one').bind(factories).users.build()
    const b = newRun(42).scope('other name').bind(factories).users.build()
    expect(a.name).toBe(b.name)
    const run = newRun()
    const c = run.scope('one').bind(factories).users.buildList(5)
    const d = run.scope('two').bind(factories).users.buildList(5)
    expect(c.map((r) => r.name)).not.toEqual(d.map((r) => r.name))
    expect(run.scope('same').seed).toBe(run.scope('same').seed)
  })

  it('uses transient params without making them columns', () => {
    const { sessions: s } = newRun().scope('transient').bind(factories)
    const now = Date.now()
    const short = s.build({ ttlHours: 1 })
    expect(short).not.toHaveProperty('ttlHours')
    expect(short.expiresAt.getTime() - now).toBeGreaterThan(0.9 * 3600_000)
    expect(short.expiresAt.getTime() - now).toBeLessThan(1.1 * 3600_000)
    expect(s.trait('expired').build().expiresAt.getTime()).toBeLessThan(now)
  })

  it('keeps sequences per scope, never process-global', () => {
    const seqs: number[][] = []
    const counting = defineFactory(schema.users, (f) => ({ id: f.id(), email: f.email(), name: `n${f.seq}` }))
    const run = newRun()
    for (const name of ['a', 'b']) {
      const { u } = run.scope(name).bind({ u: counting })
      seqs.push(u.buildList(3).map((r) => Number(r.name.slice(1))))
    }
    expect(seqs).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ])
  })

  it('builds references in build mode, or takes a given row or id', () => {
    const scope = newRun().scope('refs')
    const { bookings: b, users: u } = scope.bind(factories)
    const booking = b.build()
    expect(booking.parentId.startsWith(scope.prefix)).toBe(true)
    expect(booking.instructorId).not.toBe(booking.parentId)
    const parent = u.build()
    expect(b.build({ parentId: parent as never }).parentId).toBe(parent.id)
    expect(b.build({ instructorId: 'given-id' }).instructorId).toBe('given-id')
    // nested: a session's user is built too
    expect(scope.bind(factories).sessions.build().userId.startsWith(scope.prefix)).toBe(true)
  })

  it('runs afterBuild hooks', () => {
    const shouting = users.afterBuild((row) => {
      row.name = row.name.toUpperCase()
    })
    const { u } = newRun().scope('hooks').bind({ u: shouting })
    const row = u.build({ name: 'quiet' })
    expect(row.name).toBe('QUIET')
    expect(shouting).not.toBe(users)
    expect(users.bindTo(newRun().scope('x')).build({ name: 'quiet' }).name).toBe('quiet')
  })

  it('rejects unknown columns and traits with errors that name the factory', () => {
    const { users: u } = newRun().scope('bad').bind(factories)
    const unknown = errorOf(() => u.build({ nope: 1 } as never))
    expect(unknown.code).toBe('UNKNOWN_COLUMN')
    expect(unknown.message).toMatch(/Factory "users": override "nope" is not a column of public\.users/)
    const trait = errorOf(() => users.trait('missing' as never))
    expect(trait.code).toBe('UNKNOWN_TRAIT')
    expect(trait.message).toContain('Known traits: parent, instructor, admin')
    const badDefaults = defineFactory(schema.users, () => ({ id: 'x', email: 'y', name: 'z', extra: 1 }) as never)
    expect(errorOf(() => badDefaults.bindTo(newRun().scope('d')).build()).message).toContain('default "extra"')
    expect(errorOf(() => u.buildList(-1)).code).toBe('INVALID_COUNT')
  })

  it('refuses a list past MAX_LIST_SIZE, and counts that are not whole numbers, before building any row', async () => {
    let built = 0
    const counted = defineFactory(schema.users, (f) => {
      built++
      return { id: f.id(), email: f.email(), name: 'n' }
    })
    const u = counted.bindTo(newRun().scope('sizes'))
    const tooLarge = errorOf(() => u.buildList(MAX_LIST_SIZE + 1))
    expect(tooLarge).toMatchObject({ name: 'FactoryError', code: 'LIST_TOO_LARGE' })
    expect(tooLarge.message).toContain(`at most ${MAX_LIST_SIZE} rows`)
    await expect(u.createList(1e7)).rejects.toMatchObject({ code: 'LIST_TOO_LARGE' })
    for (const count of [-1, 1.5, NaN, Infinity, '3', Object.create(null), Symbol('n'), 2n]) {
      expect(errorOf(() => u.buildList(count as number)).code).toBe('INVALID_COUNT')
      await expect(u.createList(count as number)).rejects.toMatchObject({ code: 'INVALID_COUNT' })
    }
    expect(built).toBe(0)
    expect(MAX_LIST_SIZE).toBe(100_000)
  })

  it('refuses overrides that are not an object and trait names that are not strings with a FactoryError', () => {
    const u = users.bindTo(newRun().scope('odd overrides'))
    for (const overrides of ['role', 7, [{ role: 'admin' }], new Date(), Symbol('o'), 3n, true]) {
      expect(errorOf(() => u.build(overrides as never))).toMatchObject({ name: 'FactoryError', code: 'OPTION_INVALID' })
    }
    for (const name of [Symbol('trait'), Object.create(null), 1, null]) {
      expect(errorOf(() => users.trait(name as never)).code).toBe('UNKNOWN_TRAIT')
    }
  })

  it('refuses to create without a database', async () => {
    const { users: u } = newRun().scope('nodb').bind(factories)
    await expect(u.create()).rejects.toMatchObject({ code: 'FACTORY_NOT_BOUND' })
  })

  it('bookings get a new slot per booking in a scope', () => {
    const { bookings: b } = newRun().scope('slots').bind({ bookings })
    const [x, y] = b.buildList(2, { instructorId: 'shared' })
    expect(x!.scheduledAt.getTime()).not.toBe(y!.scheduledAt.getTime())
    expect(sessions.name).toBe('sessions')
  })
})
