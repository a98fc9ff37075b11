import { audit, narrowReport } from '../audit/audit.js'
import { retryWhileLost } from '../db/connection-lost.js'
import type { Database } from '../db/database.js'
import { cachedSchema } from '../db/introspect.js'
import type { DecodedId } from '../ids/decode.js'
import { schemaOfKey } from '../table-key.js'
import { closeProcess } from '../registry/processes.js'
import { forgetRunIfDone, recordTagColumns, type RegisteredColumn } from '../registry/registry.js'
import type { CleanupReport, CloseReport, RunCleaner } from '../run/cleanup-contract.js'
import { keysByTable, type Ledger } from '../run/ledger.js'
import { learnColumn, type RegistryLink } from '../run/registry-link.js'
import type { RunContext } from '../run/run-context.js'
import { discoverTagColumns } from './discover.js'
import { cleanupPrefix, tagColumnsOf, type CleanupOptions } from './execute.js'
import type { Lease } from './lease.js'
import { ScopeRanges } from './scope-ranges.js'

/** How cleanup treats this run's database. */
export type RunCleanupOptions = Pick<
  CleanupOptions,
  'tagColumns' | 'nullableDependents' | 'lockTimeoutMs' | 'retries' | 'guard' | 'schemas'
>

/** Cleans prefixes of one run context: tag columns from the registry (or the ledger), untagged rows by key. */
export class DatabaseCleaner implements RunCleaner {
  /** Tag columns found by discovery while the run has no registry. */
  readonly #local: RegistryLink = { known: new Map() }

  constructor(
    private readonly db: Database,
    private readonly run: RunContext,
    private readonly options: RunCleanupOptions,
    lease: Lease | null,
  ) {
    this.#lease = lease
  }

  readonly #lease: Lease | null

  /** Scopes of this context whose cleanup ran, by number: rows found with their prefix at close were written after it. */
  readonly #cleaned = new ScopeRanges()

  /** Tag columns this run knows: the registry's (declared, factories, inserts, discovery), else the ledger's. */
  #known(): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    const add = (table: string, column: string) => {
      const columns = (out[table] ??= [])
      if (!columns.includes(column)) columns.push(column)
    }
    if (this.run.registry === null) {
      for (const [table, columns] of Object.entries(this.run.ledger.tagColumns()))
        for (const c of columns) add(table, c)
    } else {
      for (const [table, columns] of this.run.registry.known) for (const c of columns) add(table, c)
    }
    for (const [table, columns] of this.#local.known) for (const c of columns) add(table, c)
    return out
  }

  /** The configured schemas plus those of every table the run's factories wrote to. */
  #schemas(known: Record<string, string[]>, tables: string[] = []): string[] {
    const named = [...Object.keys(known), ...tables]
    return [...new Set([...(this.options.schemas ?? ['public']), ...named.map(schemaOfKey)])]
  }

  /** The lease's state: lost when its connection dropped (a server restart) and it could not be taken again. */
  get lease(): { held: boolean; lost: number } | null {
    return this.#lease && { held: this.#lease.held, lost: this.#lease.lost }
  }

  async cleanPrefix(prefix: string, ledger: Ledger, { discover = true } = {}): Promise<CleanupReport> {
    // After a server restart the lease is gone with its session: take it again before anything else.
    if (this.#lease !== null && !this.#lease.held) await this.#lease.renew()
    // What this cleanup deletes when it succeeds; the ledger releases these (rows recorded meanwhile stay).
    const owned = ledger.ownedBy(prefix)
    const untagged = owned.filter((entry) => entry.tag === null)
    const known = this.#known()
    const schemas = this.#schemas(known)
    const options: CleanupOptions = {
      ...this.options,
      schemas,
      learntTagColumns: known,
      ...(this.run.registry === null
        ? { keys: keysByTable(untagged) }
        : { registryKeys: new Set(untagged.map((e) => e.table)), journal: true }),
    }
    // Discovery looks for app-written tags in columns nobody named, on a second connection meanwhile.
    const [cleaned, discovered] = await Promise.allSettled([
      cleanupPrefix(this.db, prefix, options),
      discover ? retryWhileLost(() => this.#discover(prefix, known, schemas)) : Promise.resolve([]),
    ])
    if (discovered.status === 'rejected') throw discovered.reason
    const found = discovered.value
    // Rows that depend on a row only the discovered column owns can stop the first cleanup (a nullable
    // reference from an untagged row): with the column known, it runs again, all or nothing as ever.
    if (cleaned.status === 'rejected' && found.length === 0) throw cleaned.reason
    this.#markCleaned(prefix)
    if (found.length === 0 && cleaned.status === 'fulfilled') {
      ledger.release(owned)
      return cleaned.value
    }
    const more = await cleanupPrefix(this.db, prefix, { ...options, learntTagColumns: this.#known() })
    ledger.release(owned)
    if (cleaned.status === 'rejected') return more
    const report = cleaned.value
    const deleted = { ...report.deleted }
    for (const [table, n] of Object.entries(more.deleted)) deleted[table] = (deleted[table] ?? 0) + n
    return {
      ...report,
      deleted,
      total: report.total + more.total,
      durationMs: report.durationMs + more.durationMs,
      statements: report.statements + more.statements,
    }
  }

  rolledBack(prefix: string, ledger: Ledger): void {
    ledger.release([...ledger.entries])
    this.#markCleaned(prefix)
  }

  /** Text columns holding the prefix that no one declared; recorded in the registry for the sweep and the audit. */
  async #discover(prefix: string, known: Record<string, string[]>, schemas: string[]): Promise<RegisteredColumn[]> {
    const graph = await cachedSchema(this.db, { schemas })
    const found = await discoverTagColumns(this.db, graph, tagColumnsOf(graph, pick(graph.tables, known)), prefix)
    if (found.length === 0) return []
    const columns = found.map((c) => ({ ...c, source: 'discovered' as const }))
    for (const c of columns) learnColumn(this.run.registry ?? this.#local, c.table, c.column)
    if (this.run.registry !== null) await recordTagColumns(this.db, this.run.runTag, columns)
    return columns
  }

  async close(): Promise<CloseReport> {
    try {
      const auditWorker = () => {
        const known = this.#known()
        return audit({
          db: this.db,
          prefix: this.run.prefix,
          ledger: this.run.ledger.entries,
          scopeNames: this.run.scopeNames,
          learntTagColumns: known,
          // Tables whose rows cleanups deleted still count: a late write may land there again.
          schemas: this.#schemas(known, this.run.ledger.tables()),
          ...(this.options.tagColumns ? { tagColumns: this.options.tagColumns } : {}),
        })
      }
      // Each step is idempotent: while the server restarts, it is tried again (bounded).
      const before = await retryWhileLost(auditWorker)
      const leftBehind = narrowReport(before, (row) => this.#isCleanedScope(row.provenance))
      // A clean audit looked in the columns discovery would (it discovers too): the cleanup only has the
      // journal's entries left to delete, and when it deleted no row, auditing again would find the same.
      const cleanup = await this.cleanPrefix(this.run.prefix, this.run.ledger, { discover: !before.clean })
      const lease = this.lease
      const after = before.clean && cleanup.total === 0 ? before : await retryWhileLost(auditWorker)
      // Nothing of this process is journaled any more: the sweep can pass it by. Its tests' names stay,
      // so that the run's end names the test of a row written after this close.
      if (this.run.registry !== null) {
        const closed = { ...this.#identity(), clean: after.clean, scopes: this.#scopesByNumber() }
        await retryWhileLost(() => closeProcess(this.db, closed))
      }
      // The last process of a run to close takes the run out of the registry (retention).
      if (this.run.registry !== null && after.clean)
        await retryWhileLost(() => forgetRunIfDone(this.db, this.run.runTag, { registered: true }))
      return { clean: leftBehind.clean && after.clean, leftBehind, cleanup, audit: after, lease }
    } finally {
      await this.#lease?.release()
    }
  }

  #identity() {
    const { prefix, runTag, shard, worker, pid } = this.run
    return { prefix, runTag, shard, worker, pid }
  }

  #scopesByNumber(): Record<number, string> {
    const out: Record<number, string> = {}
    const own = this.run.prefix
    for (const [prefix, name] of this.run.scopeNames) out[parseInt(prefix.slice(own.length, -1), 36)] = name
    return out
  }

  // A scope's prefix is the context's prefix, its number in base36 and `-`.
  #markCleaned(prefix: string): void {
    const { prefix: own } = this.run
    if (prefix !== own && prefix.startsWith(own)) this.#cleaned.add(parseInt(prefix.slice(own.length, -1), 36))
  }

  #isCleanedScope(provenance: DecodedId | null): boolean {
    return provenance !== null && provenance.processPrefix === this.run.prefix && this.#cleaned.has(provenance.scope)
  }
}

function pick(tables: ReadonlyMap<string, unknown>, columns: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(columns).filter(([table]) => tables.has(table)))
}
