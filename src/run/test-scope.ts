import { encodeScope } from '../ids/id-format.js'
import { IdIssuer, type IdSource } from '../ids/issuer.js'
import type { RunContext } from './run-context.js'

/** One test's slice of a run: its own prefix and its own id, e-mail and slug issuers. */
export class TestScope implements IdSource {
  readonly run: RunContext
  /** The test's name (used in reports and, later, for its faker seed). */
  readonly name: string
  /** Scope number within the run context (1, 2, …); 0 is reserved for ids made outside tests. */
  readonly number: number
  readonly #ids: IdIssuer

  /** @internal use `run.scope(name)` */
  constructor(run: RunContext, number: number, name: string) {
    this.run = run
    this.number = number
    this.name = name
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

  id(label?: string): string {
    return this.#ids.id(label)
  }

  email(label?: string, domain: string = this.run.emailDomain): string {
    return this.#ids.email(label, domain)
  }

  slug(label?: string): string {
    return this.#ids.slug(label)
  }
}
