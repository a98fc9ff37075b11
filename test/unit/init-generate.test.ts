import { sql } from 'drizzle-orm'
import {
  boolean,
  foreignKey,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  serial,
  text,
  timestamp,
  uuid,
  varchar,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import * as reference from '../../factories/schema.js'
import { importPath } from '../../src/cli/init-command.js'
import { generateFactories } from '../../src/cli/init/generate-factories.js'
import { readTables, tablesOf } from '../../src/cli/init/table-model.js'

const generate = (exports: Record<string, unknown>) =>
  generateFactories(readTables(tablesOf(exports)), { schemaImport: './schema.js' })

/** The defaults of one generated factory, as its lines. */
function factoryOf(source: string, name: string): string[] {
  const match = new RegExp(
    `export const ${name} = defineFactory\\(schema\\.\\w+, \\(f\\) => \\(\\{\\n([^]*?)\\n\\}\\)\\)`,
  ).exec(source)
  if (match === null) throw new Error(`no factory ${name} in:\n${source}`)
  return match[1]!.split('\n').map((line) => line.trim())
}

describe('generateFactories', () => {
  it('the reference schema: ids, e-mails, faker names, refs, parents first; defaults and serials left out', () => {
    const source = generate(reference)
    expect(source).toContain("import { defineFactory } from 'leakless'\nimport * as schema from './schema.js'")
    expect(factoryOf(source, 'users')).toEqual([
      'id: f.id(),',
      "email: f.email('user'),",
      'name: f.faker.person.fullName(),',
    ])
    expect(factoryOf(source, 'activity')).toEqual(['userId: f.ref(users),', 'action: f.faker.lorem.word(),'])
    expect(factoryOf(source, 'sessions')).toContain("token: f.id('token'),")
    // A trait per value of the first enum column, as the hand-written factories have.
    expect(source).toContain(
      "  name: f.faker.person.fullName(),\n})).traits({\n  parent: { role: 'parent' as const },\n  instructor: { role: 'instructor' as const },\n  admin: { role: 'admin' as const },\n})",
    )
    expect(source.indexOf('export const users')).toBeLessThan(source.indexOf('export const sessions'))
    expect(source).toMatch(/export const factories = \{ users, activity, bookings, sessions \}\n$/)
    expect(source).not.toContain('randomUUID')
  })

  it('picks values by type and by name', () => {
    const mood = pgEnum('mood', ['happy', 'sad'])
    const people = pgTable('people', {
      id: uuid('id').primaryKey(),
      avatarId: uuid('avatar_id'),
      workEmail: varchar('work_email', { length: 200 }).notNull(),
      handle: text('handle').notNull(),
      apiToken: text('api_token'),
      nickname: varchar('nickname', { length: 20 }).notNull().unique(),
      login: varchar('login', { length: 12 }).notNull().unique(),
      shortCode: varchar('short_code', { length: 24 }).notNull().unique(),
      code: text('code').notNull().unique(),
      title: varchar('title', { length: 10 }).notNull(),
      bio: text('bio'),
      notes: integer('notes'),
      mood: mood('mood').notNull(),
      plan: text('plan', { enum: ['free', 'pro'] }).notNull(),
      active: boolean('active').notNull(),
      birthday: timestamp('birthday', { mode: 'string' }).notNull(),
      expiresAt: timestamp('expires_at').notNull(),
      settings: jsonb('settings').notNull(),
      misc: text('misc').notNull(),
      seats: integer('seats').notNull(),
      lastSeen: timestamp('last_seen'),
      counter: integer('counter').generatedAlwaysAsIdentity(),
      total: integer('total').generatedAlwaysAs(sql`1`),
      created: timestamp('created').notNull().defaultNow(),
    })
    const source = generate({ people })
    expect(source).toContain("import { randomUUID } from 'node:crypto'\nimport { defineFactory }")
    expect(factoryOf(source, 'people')).toEqual([
      'id: randomUUID(),',
      "workEmail: f.email('work'),",
      "handle: f.slug('people'),",
      "apiToken: f.id('apitoken'),",
      'nickname: f.handle(),',
      '// login: varchar(12) is too short for a leakless id (24 characters) or handle (20); widen it or override',
      "login: f.slug('people'),",
      'shortCode: f.id(),',
      "code: f.id('code'),",
      'title: f.faker.lorem.words(3).slice(0, 10),',
      'bio: f.faker.lorem.sentence(),',
      "mood: 'happy' as const,",
      "plan: 'free' as const,",
      'active: false,',
      'birthday: new Date().toISOString(),',
      'expiresAt: new Date(Date.now() + 7 * 24 * 60 * 60 * 1000),',
      'settings: {},',
      'misc: f.faker.lorem.word(),',
      'seats: f.faker.number.int({ min: 1, max: 1000 }),',
    ])
  })

  it('leaves nullable and self references out, and skips NOT NULL cycles with a comment', () => {
    const nodes = pgTable('nodes', {
      id: serial('id').primaryKey(),
      parentId: integer('parent_id').references((): AnyPgColumn => nodes.id),
    })
    const loops = pgTable('loops', {
      id: text('id').primaryKey(),
      selfId: text('self_id')
        .notNull()
        .references((): AnyPgColumn => loops.id),
    })
    const chickens = pgTable('chickens', {
      id: text('id').primaryKey(),
      eggId: text('egg_id')
        .notNull()
        .references((): AnyPgColumn => eggs.id),
    })
    const eggs = pgTable('eggs', {
      id: text('id').primaryKey(),
      chickenId: text('chicken_id')
        .notNull()
        .references((): AnyPgColumn => chickens.id),
    })
    const nests = pgTable('nests', {
      id: text('id').primaryKey(),
      eggId: text('egg_id')
        .notNull()
        .references(() => eggs.id),
    })
    const source = generate({ nodes, loops, chickens, eggs, nests })
    expect(source).toContain('export const nodes = defineFactory(schema.nodes, (f) => ({}))')
    expect(source).toContain(
      '// loops (public.loops): no factory, its NOT NULL foreign keys form a cycle (through loops): write this factory by hand.',
    )
    expect(source).toContain(
      '// chickens (public.chickens): no factory, its NOT NULL foreign keys form a cycle (through eggs)',
    )
    expect(source).toContain(
      '// eggs (public.eggs): no factory, its NOT NULL foreign keys form a cycle (through chickens)',
    )
    expect(source).toContain('// nests (public.nests): no factory, references eggs, which has no generated factory.')
    expect(source).toMatch(/export const factories = \{ nodes \}\n$/)
  })

  it('refs by another key, composite foreign keys, parents the module does not export, odd names', () => {
    const accounts = pgTable('accounts', { id: serial('id').primaryKey(), email: text('email').notNull().unique() })
    const hidden = pgTable('hidden', { id: text('id').primaryKey() })
    const pairs = pgTable('pairs', { a: integer('a').notNull(), b: integer('b').notNull() })
    const schema = pgTable(
      'Odd Table',
      {
        'owner email': text('owner email')
          .notNull()
          .references(() => accounts.email),
        x: integer('x').notNull(),
        y: integer('y').notNull(),
        hiddenId: text('hidden_id').references(() => hidden.id),
      },
      (t) => [foreignKey({ columns: [t.x, t.y], foreignColumns: [pairs.a, pairs.b] })],
    )
    const defaulted = pgTable('defaulted', {
      id: text('id').primaryKey(),
      accountId: integer('account_id')
        .notNull()
        .default(1)
        .references(() => accounts.id),
    })
    const orphans = pgTable('orphans', {
      hiddenId: text('hidden_id')
        .notNull()
        .references(() => hidden.id),
    })
    const source = generate({ defaulted, accounts, pairs, schema, orphans })
    expect(factoryOf(source, 'schemaFactory')).toEqual([
      "'owner email': f.ref(accounts, 'email'),",
      '// x: part of a foreign key over several columns: pass it in the overrides',
      '// y: part of a foreign key over several columns: pass it in the overrides',
    ])
    expect(source).toContain('export const schemaFactory = defineFactory(schema.schema,')
    // A foreign key with a default is the database's to fill, like any column with a default.
    expect(factoryOf(source, 'defaulted')).toEqual(['id: f.id(),'])
    expect(source).toContain(
      '// orphans (public.orphans): no factory, references public.hidden (NOT NULL), which the schema module does not export.',
    )
  })
})

describe('importPath', () => {
  it('is relative, starts with a dot and names the .ts family as .js', () => {
    expect(importPath('/p/test/factories.ts', '/p/src/db/schema.ts')).toBe('../src/db/schema.js')
    expect(importPath('/p/factories.ts', '/p/schema.mts')).toBe('./schema.mjs')
    expect(importPath('/p/a/f.ts', '/p/a/schema.js')).toBe('./schema.js')
  })
})
