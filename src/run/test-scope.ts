import type { Faker } from '@faker-js/faker'
import { faker as englishFaker } from '@faker-js/faker/locale/en'
import { InputError } from '../errors.js'
import { encodeHandle } from '../ids/handle.js'
import { encodeScope } from '../ids/id-format.js'
import { IdIssuer, type IdSource } from '../ids/issuer.js'
import type { DrizzleDatabase } from './database-like.js'
import { noCleaner, type CleanupReport } from './cleanup-contract.js'
import { groupByTable, ScopeLedger, type LedgerEntry } from './ledger.js'
import type { RunContext } from './run-context.js'

/** Something that can be bound to a scope (a factory). */
export interface Bindable<TBound> {
  bindTo(scope: TestScope): TBound
}

/** The bound forms of a map of bindables. */
export type BoundMap<M> = { [K in keyof M]: M[K] extends Bindable<infer B> ? B : never }

const FakerClass = englishFaker.constructor as new (options: { locale: unknown; seed?: number }) => Faker

/**
 * One test's slice of a run: its own prefix, id/e-mail/slug issuers, seeded faker, sequences and
 * ledger of the rows its factories inserted.
 */
export class TestScope implements IdSource {
  readonly run: RunContext
  /** The test's name (reports, and the faker seed). */
  readonly name: string
  /** Scope number within the run context (1, 2, …); 0 is the run's own scope outside tests. */
  readonly number: number
  /** Faker seed of this scope: derived from run tag and name, or `LEAKLESS_SEED`. */
  readonly seed: number
  /** The rows this scope's factories inserted: `entries` those no cleanup deleted yet, `recorded` all of them. */
  readonly ledger: ScopeLedger
  readonly #ids: IdIssuer
  #handedOut = 0
  #handles = 0
  readonly #sequences = new Map<string, number>()
  #faker: Faker | undefined
  readonly #db: DrizzleDatabase | null

  /** @internal use `run.scope(name)` */
  constructor(run: RunContext, number: number, name: string, seed: number, db: DrizzleDatabase | null = run.db) {
    this.run = run
    this.#db = db
    this.number = number
    this.name = name
    this.seed = seed
    this.ledger = new ScopeLedger(run.ledger)
    this.#ids = new IdIssuer(`${run.prefix}${encodeScope(number)}-`)
  }

  /** Every value this scope issues starts with this prefix, which ends at a field boundary. */
  get prefix(): string {
    return this.#ids.prefix
  }

  /** How many ids, e-mails and slugs this scope has issued. */
  get issued(): number {
    return this.#ids.issued
  }

  /** The database this scope's factories insert into: the run's, or the one given to `run.scope(name, { db })`. */
  get db(): DrizzleDatabase | null {
    return this.#db
  }

  /** A faker instance of this scope alone, seeded with {@link seed}; dates are relative to the run's start. */
  get faker(): Faker {
    if (this.#faker === undefined) {
      this.#faker = new FakerClass({ locale: englishFaker.rawDefinitions, seed: this.seed })
      this.#faker.setDefaultRefDate(this.run.startedAt)
    }
    return this.#faker
  }

  /** Rows inserted in this scope, grouped by table (`public.users` → entries), deleted ones included. */
  get created(): Record<string, LedgerEntry[]> {
    return groupByTable(this.ledger.recorded)
  }

  id(label?: string): string {
    this.#handedOut++
    return this.#ids.id(label)
  }

  email(label?: string, domain: string = this.run.emailDomain): string {
    this.#handedOut++
    return this.#ids.email(label, domain)
  }

  slug(label?: string): string {
    this.#handedOut++
    return this.#ids.slug(label)
  }

  /**
   * A unique 20-character value of [0-9a-z] for columns too short for an id (usernames limited to 20):
   * the run tag, the registry's process number, the scope and a counter. It does not start with
   * {@link prefix}: a row is found by its other tagged columns or the ledger, not by its handle. Needs the
   * run registry (a run on a database where cleanup is allowed); throws `HANDLE_UNAVAILABLE` elsewhere.
   *
   * @example
   * const username = scope.handle() // 'mi8d0k2wq3z9xa010100'
   */
  handle(): string {
    this.#handedOut++
    return this.#handle()
  }

  #handle(): string {
    const process = this.run.processNumber
    if (process === null) {
      throw new InputError(
        'HANDLE_UNAVAILABLE',
        'scope.handle() needs a process number from the run registry, and this run has none (it was created without a database, or on one where the guard refuses cleanup). Create the run with createRun({ db }) on a test database, or use scope.id() (at most 24 characters with a registry, about 35 without).',
        { details: { prefix: this.prefix } },
      )
    }
    return encodeHandle(this.run.runTag, process, this.number, this.#handles++)
  }

  /**
   * How many values this scope handed to the test itself (not to its factories): values that may reach
   * the app under test, which can copy them into columns nobody named. Cleanup looks for those columns
   * when this is not 0.
   */
  get handedOut(): number {
    return this.#handedOut
  }

  /** @internal A value for a factory's row (`f.id()`, `f.email()`, `f.slug()`): not handed out. */
  issueForFactory(
    kind: 'id' | 'email' | 'slug' | 'handle',
    label?: string,
    domain: string = this.run.emailDomain,
  ): string {
    if (kind === 'handle') return this.#handle()
    return kind === 'email'
      ? this.#ids.email(label, domain)
      : kind === 'slug'
        ? this.#ids.slug(label)
        : this.#ids.id(label)
  }

  /**
   * Deletes everything this test owns: rows whose tag columns start with {@link prefix}, the rows its
   * factories recorded, and the dependents that cannot exist without them (what the app made for it).
   */
  cleanup(): Promise<CleanupReport> {
    if (this.run.cleaner === null) return Promise.reject(noCleaner('scope.cleanup()'))
    return this.run.cleaner.cleanPrefix(this.prefix, this.ledger, { discover: this.#handedOut > 0 })
  }

  /**
   * @internal The scope's database was a transaction that has been rolled back: its rows are gone with
   * no cleanup, and a row found later with its prefix was written outside it (reported as a late write).
   */
  rolledBack(): void {
    this.run.cleaner?.rolledBack(this.prefix, this.ledger)
  }

  /** Next value of a per-scope sequence (0, 1, 2, …); never shared with another scope or process. */
  nextSequence(name: string): number {
    const n = this.#sequences.get(name) ?? 0
    this.#sequences.set(name, n + 1)
    return n
  }

  /**
   * Binds factories to this scope: its ids, faker, database and ledger.
   *
   * @example
   * const { users } = scope.bind({ users: userFactory })
   * const parent = await users.create()
   */
  bind<M extends Record<string, Bindable<unknown>>>(factories: M): BoundMap<M> {
    const out: Record<string, unknown> = {}
    for (const [key, factory] of Object.entries(factories)) out[key] = factory.bindTo(this)
    return out as BoundMap<M>
  }
}
