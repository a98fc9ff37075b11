import { describeValue } from '../describe-value.js'
import { InputError } from '../errors.js'
import { decodeRunTagTime, encodeProcessField, processClaimKey } from '../ids/id-format.js'
import { DEFAULT_EMAIL_DOMAIN, type IdSource } from '../ids/issuer.js'
import { normaliseDomain } from '../ids/labels.js'
import { createRunTag, parseRunTag, randomNonce } from '../ids/run-tag.js'
import { checkIndexOption, detectEnvironment, type RunnerKind } from './environment.js'
import { drizzleOf, type DatabaseLike, type DrizzleDatabase } from './database-like.js'
import { claimProcessSlot, defaultStateDir } from './process-claim.js'
import {
  noCleaner,
  type CleanupReport,
  type CloseReport,
  type LeaseState,
  type RunCleaner,
} from './cleanup-contract.js'
import { Ledger } from './ledger.js'
import type { RegistryLink } from './registry-link.js'
import { checkSeed, deriveSeed, seedFromEnv } from './seed.js'
import { TestScope } from './test-scope.js'

export interface CreateRunOptions {
  /** Run tag shared by all workers. @default `LEAKLESS_RUN`, else one tag created per process */
  runTag?: string
  /** @default detected from the environment */
  runner?: RunnerKind
  /** Worker index. @default `TEST_WORKER_INDEX` (Playwright), `VITEST_POOL_ID` (Vitest), else 0 */
  worker?: number
  /** CI shard (1-based), or null. @default `LEAKLESS_SHARD`, else null */
  shard?: number | null
  /** Domain of generated e-mail addresses. @default `example.test` */
  emailDomain?: string
  /** Directory for this machine's process claims (which make process fields unique). @default `LEAKLESS_STATE_DIR`, else `<tmpdir>/leakless` */
  stateDir?: string
  /** Database the run's factories insert into (a drizzle instance, or the handle `connect()` returns). */
  db?: DatabaseLike
  /** Faker seed for every scope (replays a test's data). @default `LEAKLESS_SEED`, else derived per scope */
  seed?: number
  /** Environment to detect from. @default `process.env` */
  env?: NodeJS.ProcessEnv
  /** @internal Pretend to be another pid (tests of pid reuse). */
  pid?: number
  /**
   * @internal The run registry's number for this process (a short process field); without it the field
   * is long (worker, pid and a random part, claimed on this machine).
   */
  processNumber?: number | null
}

const PROCESS_RUN_TAG = Symbol.for('leakless.processRunTag')
type ProcessGlobal = typeof globalThis & { [PROCESS_RUN_TAG]?: string }

/** The run tag of this process: `LEAKLESS_RUN` when set (validated), else one tag per process. */
export function resolveRunTag(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LEAKLESS_RUN !== undefined && env.LEAKLESS_RUN !== '') return parseRunTag(env.LEAKLESS_RUN)
  // On globalThis so that two copies of this module in one process agree on the run.
  const g = globalThis as ProcessGlobal
  return (g[PROCESS_RUN_TAG] ??= createRunTag())
}

/**
 * A worker process's view of the run: run tag, a process field that no other context of the run
 * shares, and test scopes.
 */
export class RunContext implements IdSource {
  readonly runTag: string
  readonly runner: RunnerKind
  readonly shard: number | null
  readonly worker: number
  readonly pid: number
  /** The run registry's number for this process (short ids), or null when the run has no registry. */
  readonly processNumber: number | null
  /** Non-zero when this machine already had a context with the same shard, worker and pid in this run. */
  readonly reuse: number
  /** The random part of a long process field; null with a registry number. */
  readonly nonce: string | null
  /** `<number>` or `s<shard>n<number>` with a registry; else `[s<shard>]w<worker>p<pid>[r<reuse>]x<nonce>` */
  readonly processField: string
  /** Prefix of every id of the whole run (all workers, all shards): `<runTag>-`. */
  readonly runPrefix: string
  /** Prefix of every id of this context: `<runTag>-<process>-`. */
  readonly prefix: string
  readonly emailDomain: string
  /** Directory of this machine's process claims. */
  readonly stateDir: string
  /** The drizzle database factories insert into; null for a run without one (build only). */
  readonly db: DrizzleDatabase | null
  /** Seed forced for every scope (`LEAKLESS_SEED`), or null to derive one per scope. */
  readonly fixedSeed: number | null
  /** The rows this context's scopes inserted that no cleanup has deleted yet (a cleanup releases what it deleted). */
  readonly ledger = new Ledger()
  /** @internal attached by the public `createRun` when the run has a database */
  cleaner: RunCleaner | null = null
  /** @internal attached by the public `createRun` when the database's run registry could be written */
  registry: RegistryLink | null = null
  /**
   * @internal The schema first on the connections' `search_path` (isolation 'schema'), where tables
   * declared without a schema are: the ledger and the registry name them there. Null: public.
   */
  searchSchema: string | null = null
  #scopes = 0
  readonly #scopeNames = new Map<string, string>()
  #outside: TestScope | undefined

  /** @internal use {@link createRun} */
  constructor(fields: {
    runTag: string
    runner: RunnerKind
    shard: number | null
    worker: number
    pid: number
    number: number | null
    reuse: number
    nonce: string | null
    emailDomain: string
    stateDir: string
    db: DrizzleDatabase | null
    fixedSeed: number | null
  }) {
    this.runTag = fields.runTag
    this.runner = fields.runner
    this.shard = fields.shard
    this.worker = fields.worker
    this.pid = fields.pid
    this.processNumber = fields.number
    this.reuse = fields.reuse
    this.nonce = fields.nonce
    this.emailDomain = fields.emailDomain
    this.stateDir = fields.stateDir
    this.db = fields.db
    this.fixedSeed = fields.fixedSeed
    this.processField = encodeProcessField(fields)
    this.runPrefix = `${this.runTag}-`
    this.prefix = `${this.runPrefix}${this.processField}-`
  }

  /** When the run started (decoded from the run tag). */
  get startedAt(): Date {
    return decodeRunTagTime(this.runTag)
  }

  /** How many test scopes this context has opened. */
  get scopes(): number {
    return this.#scopes
  }

  /**
   * Opens the next test scope; its prefix is `<run prefix><n>-`. Its factories insert into `options.db`
   * when given (e.g. a transaction of the run's database), else into the run's database.
   */
  scope(name?: string, options: { db?: DatabaseLike } = {}): TestScope {
    if (name !== undefined && typeof name !== 'string') {
      throw new InputError(
        'OPTION_INVALID',
        `run.scope(name): a scope's name is the test's name, a string; got ${describeValue(name)}.`,
        { details: {} },
      )
    }
    const n = ++this.#scopes
    const scopeName = name ?? `scope ${n}`
    const seed = this.fixedSeed ?? deriveSeed(this.runTag, scopeName)
    const scope = new TestScope(this, n, scopeName, seed, options.db === undefined ? this.db : drizzleOf(options.db))
    this.#scopeNames.set(scope.prefix, scopeName)
    return scope
  }

  /** The name of every scope this context opened, by scope prefix (leak reports name the test). */
  get scopeNames(): ReadonlyMap<string, string> {
    return this.#scopeNames
  }

  /** Scope 0: ids, factories and rows that belong to the worker rather than to one test. */
  get outside(): TestScope {
    return (this.#outside ??= new TestScope(this, 0, '(outside tests)', this.fixedSeed ?? deriveSeed(this.runTag, '')))
  }

  /**
   * Ends the worker's part of the run: deletes what it still owns, audits its prefix for leaks and
   * releases its lease. The report's `audit.clean` is false when rows were left.
   */
  close(): Promise<CloseReport> {
    if (this.cleaner === null) return Promise.reject(noCleaner('run.close()'))
    return this.cleaner.close()
  }

  /**
   * Whether this context holds its lease (which keeps the sweep away from its rows); `held` turns false
   * when the server restarts, until the next cleanup renews it. Null without a database.
   */
  get lease(): LeaseState | null {
    return this.cleaner?.lease ?? null
  }

  /** Deletes everything this worker's context owns (all its scopes, and scope 0). */
  cleanup(): Promise<CleanupReport> {
    if (this.cleaner === null) return Promise.reject(noCleaner('run.cleanup()'))
    return this.cleaner.cleanPrefix(this.prefix, this.ledger)
  }

  /** An id outside any test (scope 0), e.g. for data shared by a whole worker. */
  id(label?: string): string {
    return this.outside.id(label)
  }

  email(label?: string, domain: string = this.emailDomain): string {
    return this.outside.email(label, domain)
  }

  slug(label?: string): string {
    return this.outside.slug(label)
  }

  /** A 20-character handle outside any test (see `scope.handle()`). */
  handle(): string {
    return this.outside.handle()
  }
}

/** @internal The run context alone (no cleanup); the public `createRun` adds the database's cleanup. */
export async function createRunContext(options: CreateRunOptions = {}): Promise<RunContext> {
  return createRunSync(options)
}

/** The run tag a run with these options gets: `runTag`, else `LEAKLESS_RUN`, else the process's own. */
export function runTagOf(options: Pick<CreateRunOptions, 'runTag' | 'env'>): string {
  return options.runTag === undefined
    ? resolveRunTag(options.env ?? process.env)
    : parseRunTag(options.runTag, 'createRun({ runTag })')
}

/** @internal synchronous core of {@link createRun} (no database yet). */
export function createRunSync(options: CreateRunOptions = {}): RunContext {
  const env = options.env ?? process.env
  const detected = detectEnvironment(env)
  const runTag = runTagOf(options)
  const shard =
    options.shard === undefined
      ? detected.shard
      : options.shard === null
        ? null
        : checkIndexOption('SHARD_INVALID', 'shard', options.shard, 1)
  const worker =
    options.worker === undefined
      ? detected.worker
      : checkIndexOption('WORKER_INDEX_INVALID', 'worker', options.worker, 0)
  const pid = options.pid === undefined ? process.pid : checkIndexOption('PID_INVALID', 'pid', options.pid, 1)
  const emailDomain = normaliseDomain(options.emailDomain ?? DEFAULT_EMAIL_DOMAIN)
  const stateDir = options.stateDir ?? defaultStateDir(env)
  const number = options.processNumber ?? null
  // A registry number is unique in the run already; a long field is made unique by a claim on this machine.
  const reuse =
    number === null
      ? claimProcessSlot(stateDir, runTag, processClaimKey({ shard, worker, pid }), { pid: process.pid })
      : 0
  return new RunContext({
    runTag,
    runner: options.runner ?? detected.runner,
    shard,
    worker,
    pid,
    number,
    reuse,
    nonce: number === null ? randomNonce() : null,
    emailDomain,
    stateDir,
    db: options.db === undefined ? null : drizzleOf(options.db),
    fixedSeed: options.seed === undefined ? seedFromEnv(env) : checkSeed(options.seed),
  })
}
