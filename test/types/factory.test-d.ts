import { describe, expectTypeOf, it } from 'vitest'
import { defineFactory, type BoundFactory, type TestScope } from '../../src/index.js'
import { factories } from '../../factories/index.js'
import type { Booking, NewUser, Session, User } from '../../factories/schema.js'
import * as schema from '../../factories/schema.js'

declare const scope: TestScope
const f = scope.bind(factories)

describe('factory types', () => {
  it('build returns the insert type, create the select type', () => {
    expectTypeOf(f.users.build()).toEqualTypeOf<NewUser>()
    expectTypeOf(f.users.create()).resolves.toEqualTypeOf<User>()
    expectTypeOf(f.bookings.createList(3)).resolves.toEqualTypeOf<Booking[]>()
    expectTypeOf(f.sessions.create()).resolves.toEqualTypeOf<Session>()
  })

  it('overrides are typed from the insert type', () => {
    f.users.build({ role: 'instructor', name: 'A' })
    // @ts-expect-error role is an enum
    f.users.build({ role: 'root' })
    // @ts-expect-error name is a string
    f.users.build({ name: 42 })
    // @ts-expect-error unknown column
    f.users.build({ nope: true })
    // @ts-expect-error unknown column in a list
    f.users.createList(2, { nope: true })
  })

  it('association columns take an id or the parent row', async () => {
    const parent = await f.users.create()
    f.bookings.build({ parentId: parent, instructorId: parent.id })
    // @ts-expect-error a session is not a user row
    f.bookings.build({ parentId: await f.sessions.create() })
    // @ts-expect-error plain columns do not take rows
    f.users.build({ name: parent })
  })

  it('transient params are accepted next to columns', () => {
    f.sessions.build({ ttlHours: 2 })
    // @ts-expect-error transient params are typed
    f.sessions.build({ ttlHours: 'soon' })
    // @ts-expect-error users have no transient params
    f.users.build({ ttlHours: 2 })
  })

  it('trait names are checked', () => {
    expectTypeOf(f.users.trait('instructor', 'admin')).toEqualTypeOf(f.users)
    // @ts-expect-error unknown trait
    f.users.trait('teacher')
    // @ts-expect-error sessions have no such trait
    factories.sessions.trait('confirmed')
  })

  it('defaults must be columns of the table', () => {
    // @ts-expect-error "extra" is not a column
    defineFactory(schema.users, (x) => ({ id: x.id(), email: x.email(), name: 'n', extra: 1 }))
    // @ts-expect-error wrong type in defaults
    defineFactory(schema.users, (x) => ({ id: x.id(), email: x.email(), name: 5 }))
    const plain = defineFactory(schema.users, (x) => ({ id: x.id(), email: x.email(), name: 'n' }))
    expectTypeOf(plain.bindTo(scope)).toMatchTypeOf<BoundFactory<typeof schema.users, unknown, never, never>>()
  })

  it('the context exposes the scope helpers and typed transient params', () => {
    defineFactory(
      schema.sessions,
      (x) => {
        expectTypeOf(x.transient.hours).toEqualTypeOf<number>()
        expectTypeOf(x.seq).toEqualTypeOf<number>()
        expectTypeOf(x.faker.person.fullName()).toEqualTypeOf<string>()
        return { id: x.id(), userId: x.ref(factories.users), token: x.slug(), expiresAt: new Date() }
      },
      { transient: { hours: 1 } },
    )
  })
})
