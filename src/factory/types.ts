import type { Faker } from '@faker-js/faker'
import type { PgTable } from 'drizzle-orm/pg-core'
import type { TestScope } from '../run/test-scope.js'
import type { Ref } from './ref.js'

export type AnyTable = PgTable
/** The insert type of a drizzle table (what `build()` returns and overrides are checked against). */
export type InsertOf<T extends AnyTable> = T['$inferInsert']
/** The select type of a drizzle table (what `create()` returns). */
export type RowOf<T extends AnyTable> = T['$inferSelect']

/** Column values a defaults function or trait may give: the insert type, or a {@link Ref} per column. */
export type DefaultsShape<T extends AnyTable> = { [K in keyof InsertOf<T>]?: InsertOf<T>[K] | Ref }

/** Turns extra keys (not columns) into a type error. */
export type NoExtraKeys<D, Allowed> = D & Record<Exclude<keyof D, keyof Allowed>, never>

/** What a defaults function, trait or hook receives: the scope's helpers for the row being built. */
export interface FactoryContext<TTransient> {
  /** A unique id of the scope (tag first). */
  id(label?: string): string
  /** `<id>.<label>@example.test`. */
  email(label?: string, domain?: string): string
  slug(label?: string): string
  /** A unique 20-character value of [0-9a-z] for short columns (usernames); see `scope.handle()`. */
  handle(): string
  /** This factory's sequence in this scope: 0, 1, 2, … */
  readonly seq: number
  /** The scope's seeded faker. */
  readonly faker: Faker
  /** Transient params: inputs that shape the row but are not columns. */
  readonly transient: TTransient
  readonly scope: TestScope
  /**
   * Association: the parent is created first (built, in `build()`), unless the override supplies one
   * (a row or a key value). `key` is the parent's column to take. @default the parent's primary key
   */
  ref<F extends Ref['factory']>(factory: F, key?: string): Ref<F>
}

/** A trait: partial column values, or a function of the context that returns them. */
export type TraitDefinition<T extends AnyTable, TTransient> =
  DefaultsShape<T> | ((f: FactoryContext<TTransient>) => DefaultsShape<T>)

/** Keys of D whose default is a reference to another factory. */
export type RefKeys<D> = { [K in keyof D]-?: NonNullable<D[K]> extends Ref ? K : never }[keyof D]

/** The row type a {@link Ref} resolves from. */
export type RefRow<R> =
  R extends Ref<infer F> ? (F extends { readonly table: infer PT extends AnyTable } ? RowOf<PT> : never) : never

/**
 * What `build`/`create` accept: columns of the insert type (for association columns also the
 * parent row) and transient params. Unknown keys are a type error.
 */
export type Overrides<T extends AnyTable, D, TTransient> = {
  [K in keyof InsertOf<T>]?: K extends RefKeys<D> ? InsertOf<T>[K] | RefRow<D[K]> : InsertOf<T>[K]
} & Partial<TTransient>
