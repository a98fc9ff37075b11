import { CleanupError } from '../errors.js'
import { assertOwnedPrefix, likePrefix } from '../ids/sql-prefix.js'
import { referencing, type ForeignKey, type SchemaGraph, type TableSchema } from '../db/schema-graph.js'
import { literal, q, qTable, tuple } from '../db/sql-text.js'
import { journaledKey, journalOf, registryTable } from '../registry/registry-sql.js'

/** What a cleanup owns: rows whose tag columns start with the prefix, and rows the ledger recorded. */
export interface CleanupSeeds {
  /** An owned prefix (run, process or scope); checked with `assertOwnedPrefix`. */
  prefix: string
  /** Table (`public.users`) → columns whose values carry tags. */
  tagColumns: ReadonlyMap<string, readonly string[]>
  /** Table → primary-key values of ledger rows, by column name. */
  keys: ReadonlyMap<string, readonly Record<string, unknown>[]>
  /**
   * Tables whose untagged rows the run registry journaled under the prefix: their keys are read from
   * the registry inside the cleanup's own statement (any machine, no copy in memory).
   */
  registryKeys?: ReadonlySet<string>
  /** Also delete the registry's journal entries under the prefix, in the same statement or transaction. */
  journal?: boolean
}

/** What to do with rows that reference owned rows through a nullable foreign key and carry no tag. */
export type NullableDependentRule = 'fail' | 'detach' | 'delete'

export interface PlanOptions {
  /** Per dependent table. @default 'fail' for every table */
  nullableDependents?: Readonly<Record<string, NullableDependentRule>>
}

export interface Statement {
  text: string
  params: unknown[]
}

/** The SQL of one cleanup, run in order inside one transaction. */
export interface CleanupPlan {
  /**
   * `single`: one data-modifying CTE deletes from every table; `ordered`: children first, one DELETE
   * each (RESTRICT foreign keys); `fixpoint`: owned keys are collected in temporary tables until no
   * more are found (foreign-key cycles, rows depending on rows of their own table), then one CTE
   * deletes them all (NO ACTION checks run at the end of that statement).
   */
  mode: 'single' | 'ordered' | 'fixpoint'
  /** `fixpoint` only: create the temporary key tables with the seeds. */
  setup: Statement[]
  /** `fixpoint` only: run in turn until every one returns `{ n: 0 }`. */
  iterate: Statement[]
  /** Tables that can lose rows, parents first. */
  tables: string[]
  /** Finds rows that reference owned rows through a nullable FK, carry no tag and are not owned: any row fails the cleanup. */
  checks: Statement[]
  /** Sets nullable FKs of not-owned rows to NULL where the config says `detach`. */
  detaches: Statement[]
  /** Deletes; each returns rows `{ table, deleted }`. */
  deletes: Statement[]
  /** Counts what `deletes` would delete (rows `{ table, deleted }`), deleting nothing; null for `fixpoint`. */
  count: Statement | null
}

/** Parameters of one statement: the LIKE pattern becomes a parameter only where a statement uses it. */
class Params {
  readonly values: unknown[] = []
  #pattern: string | undefined
  constructor(private readonly likePattern: string) {}
  pattern(): string {
    if (this.#pattern === undefined) this.#pattern = this.add(this.likePattern)
    return this.#pattern
  }
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

const NOTHING_COUNTED = 'select null::text as "table", 0 as "deleted" where false'

/** Builds the delete plan for the owned seeds over the foreign-key graph (pure: no database). */
export function planCleanup(graph: SchemaGraph, seeds: CleanupSeeds, options: PlanOptions = {}): CleanupPlan {
  const pattern = likePrefix(assertOwnedPrefix(seeds.prefix))
  const table = (name: string): TableSchema => {
    const found = graph.tables.get(name)
    if (found === undefined) {
      throw new CleanupError(
        'UNKNOWN_TABLE',
        `Cleanup knows no table "${name}" in the database schema. Check the table name in the config (schema.table) and that migrations ran.`,
        {
          details: { table: name },
        },
      )
    }
    return found
  }
  for (const [name, columns] of seeds.tagColumns) {
    const t = table(name)
    for (const column of columns) {
      if (!t.columns.some((c) => c.name === column)) {
        throw new CleanupError(
          'UNKNOWN_TAG_COLUMN',
          `Table ${name} has no column "${column}" to carry tags. Fix the tag columns in the config.`,
          {
            details: { table: name, column },
          },
        )
      }
    }
  }

  // Closure: tables whose rows cannot exist without an owned row (NOT NULL or ON DELETE CASCADE FKs).
  const owners = new Map<string, ForeignKey[]>() // child table → FKs through which it is owned
  let needsFixpoint = false
  const nullable: ForeignKey[] = []
  const registryKeys = seeds.registryKeys ?? new Set<string>()
  const closure = new Set<string>(
    [...seeds.tagColumns.keys(), ...seeds.keys.keys(), ...registryKeys].filter((n) => table(n)),
  )
  const queue = [...closure]
  while (queue.length > 0) {
    const parent = queue.shift()!
    for (const fk of referencing(graph, parent)) {
      const rule = options.nullableDependents?.[fk.table] ?? 'fail'
      if (fk.nullable && fk.onDelete !== 'cascade' && rule !== 'delete') {
        nullable.push(fk)
        continue
      }
      // A row that cannot exist without another row of its own table: owned rows are found by fixpoint.
      if (fk.table === parent) needsFixpoint = true
      owners.set(fk.table, [...(owners.get(fk.table) ?? []), fk])
      if (!closure.has(fk.table)) {
        closure.add(fk.table)
        queue.push(fk.table)
      }
    }
  }

  // Parents first, where an order exists.
  const order: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return
    if (state.get(name) === 'visiting') {
      needsFixpoint = true // a cycle: no parents-first order exists
      return
    }
    state.set(name, 'visiting')
    for (const fk of owners.get(name) ?? []) if (fk.refTable !== name) visit(fk.refTable, [...path, name])
    state.set(name, 'done')
    order.push(name)
  }
  for (const name of [...closure].sort()) visit(name, [])

  // Each statement has its own parameters: $1 is the prefix, key lists follow.
  const seedPredicate = (name: string, alias: string, params: Params): string[] => {
    // LIKE with the escaped prefix is exact and can use a text_pattern_ops (or C collation) index.
    const parts = (seeds.tagColumns.get(name) ?? []).map((c) => `${alias}.${q(c)} like ${params.pattern()} escape '\\'`)
    const keys = seeds.keys.get(name)
    const t = table(name)
    if (keys !== undefined && keys.length > 0 && t.primaryKey.length > 0) {
      const json = params.add(JSON.stringify(keys))
      const types = t.primaryKey.map((c) => `${q(c)} ${t.columns.find((col) => col.name === c)!.type}`)
      parts.push(
        `${tuple(alias, t.primaryKey)} in (select ${t.primaryKey.map(q).join(', ')} from json_to_recordset(${json}::json) as k(${types.join(', ')}))`,
      )
    }
    if (registryKeys.has(name) && t.primaryKey.length > 0) {
      parts.push(
        `${tuple(alias, t.primaryKey)} in (select ${journaledKey(t).join(', ')} from ${journalOf(t, params.pattern())})`,
      )
    }
    return parts
  }
  // The registry's journal entries under the prefix go with the rows they point at.
  const journalDelete = (params: Params) =>
    `delete from ${registryTable('untagged')} as j where j.prefix like ${params.pattern()} escape '\\'`
  if (needsFixpoint) {
    const plan = planFixpoint(
      order,
      owners,
      nullable,
      closure,
      table,
      seedPredicate,
      () => new Params(pattern),
      options,
    )
    if (seeds.journal) {
      const params = new Params(pattern)
      plan.deletes.push({ text: journalDelete(params), params: params.values })
    }
    return plan
  }

  // The owned-rows predicate of a table before anything is deleted (parents still present).
  let depth = 0
  const ownedPredicate = (name: string, alias: string, params: Params): string => {
    const parts = seedPredicate(name, alias, params)
    for (const fk of owners.get(name) ?? []) {
      const parentAlias = `p${++depth}`
      parts.push(
        `${tuple(alias, fk.columns)} in (select ${fk.refColumns.map((c) => `${parentAlias}.${q(c)}`).join(', ')} from ${qTable(table(fk.refTable))} as ${parentAlias} where ${ownedPredicate(fk.refTable, parentAlias, params)})`,
      )
    }
    return parts.length === 0 ? 'false' : `(${parts.join(' or ')})`
  }

  const checks: Statement[] = []
  const detaches: Statement[] = []
  for (const fk of nullable) {
    if (!closure.has(fk.refTable)) continue
    const child = table(fk.table)
    const params = new Params(pattern)
    const parentOwned = `select ${fk.refColumns.map((c) => `p.${q(c)}`).join(', ')} from ${qTable(table(fk.refTable))} as p where ${ownedPredicate(fk.refTable, 'p', params)}`
    const childOwned = closure.has(fk.table) ? ownedPredicate(fk.table, 'c', params) : 'false'
    const where = `${tuple('c', fk.columns)} in (${parentOwned}) and not ${childOwned}`
    if ((options.nullableDependents?.[fk.table] ?? 'fail') === 'detach') {
      detaches.push({
        text: `update ${qTable(child)} as c set ${fk.columns.map((col) => `${q(col)} = null`).join(', ')} where ${where}`,
        params: params.values,
      })
    } else {
      checks.push({
        text: `select ${literal(fk.table)} as "table", ${literal(fk.columns.join(', '))} as "column", ${literal(fk.name)} as "constraint", row_to_json(c)::text as "row" from ${qTable(child)} as c where ${where} limit 5`,
        params: params.values,
      })
    }
  }

  const restrict = [...owners.values()].flat().some((fk) => fk.onDelete === 'restrict')
  const deletes: Statement[] = []
  let count: Statement
  if (!restrict) {
    const params = new Params(pattern)
    const ctes = order.map((name, i) => {
      const t = table(name)
      const returned = new Set<string>(t.primaryKey)
      for (const fks of owners.values())
        for (const fk of fks) if (fk.refTable === name) fk.refColumns.forEach((c) => returned.add(c))
      const parts = seedPredicate(name, 's', params)
      for (const fk of owners.get(name) ?? []) {
        parts.push(
          inRows(
            tuple('s', fk.columns),
            fk.columns.length,
            `select ${fk.refColumns.map(q).join(', ')} from d${order.indexOf(fk.refTable)}`,
          ),
        )
      }
      // Several conditions: one index-driven branch each, joined on the primary key (an OR of
      // them would make PostgreSQL scan the whole table).
      const branches = parts.length > 1 && t.primaryKey.length > 0
      const alias = branches ? 't' : 's'
      const where = branches
        ? inRows(
            tuple('t', t.primaryKey),
            t.primaryKey.length,
            parts
              .map(
                (part) =>
                  `select ${t.primaryKey.map((c) => `s.${q(c)}`).join(', ')} from ${qTable(t)} as s where ${part}`,
              )
              .join(' union all '),
          )
        : parts.length > 0
          ? parts.join(' or ')
          : 'false'
      const returning = returned.size > 0 ? [...returned].map((c) => `${alias}.${q(c)}`).join(', ') : '1'
      return {
        delete: `d${i} as (delete from ${qTable(t)} as ${alias} where ${where} returning ${returning})`,
        select: `d${i} as (select ${returning} from ${qTable(t)} as ${alias} where ${where})`,
      }
    })
    const counts = order.map((name, i) => `select ${literal(name)} as "table", count(*)::int as "deleted" from d${i}`)
    const journal = seeds.journal ? [`dj as (${journalDelete(params)})`] : []
    const statement = (verb: 'delete' | 'select') =>
      `with ${[...ctes.map((cte) => cte[verb]), ...(verb === 'delete' ? journal : [])].join(',\n')}\n${counts.length > 0 ? counts.join(' union all ') : NOTHING_COUNTED}`
    // Nothing to plan (no tables, no journal): no statement at all, rather than an empty WITH.
    if (ctes.length + journal.length > 0) deletes.push({ text: statement('delete'), params: params.values })
    count =
      ctes.length > 0 ? { text: statement('select'), params: params.values } : { text: NOTHING_COUNTED, params: [] }
  } else {
    for (const name of [...order].reverse()) {
      const params = new Params(pattern)
      const text = `with d as (delete from ${qTable(table(name))} as t where ${ownedPredicate(name, 't', params)} returning 1) select ${literal(name)} as "table", count(*)::int as "deleted" from d`
      deletes.push({ text, params: params.values })
    }
    if (seeds.journal) {
      const params = new Params(pattern)
      deletes.push({ text: journalDelete(params), params: params.values })
    }
    // Each DELETE sees its parents still there: so does one SELECT per table before any of them.
    const params = new Params(pattern)
    const counts = order.map(
      (name) =>
        `select ${literal(name)} as "table", count(*)::int as "deleted" from ${qTable(table(name))} as t where ${ownedPredicate(name, 't', params)}`,
    )
    count = { text: counts.join(' union all '), params: params.values }
  }
  return {
    mode: restrict ? 'ordered' : 'single',
    tables: order,
    setup: [],
    iterate: [],
    checks,
    detaches,
    deletes,
    count,
  }
}

type TableLookup = (name: string) => TableSchema
type SeedPredicate = (name: string, alias: string, params: Params) => string[]

/** The plan for closures with cycles: owned keys gathered in temporary tables to a fixpoint. */
function planFixpoint(
  order: string[],
  owners: ReadonlyMap<string, ForeignKey[]>,
  nullable: readonly ForeignKey[],
  closure: ReadonlySet<string>,
  table: TableLookup,
  seedPredicate: SeedPredicate,
  newParams: () => Params,
  options: PlanOptions,
): CleanupPlan {
  const tables = [...closure].sort()
  const keyTable = new Map(tables.map((name, i) => [name, `leakless_owned_${i}`]))
  const pk = (name: string): string[] => {
    const t = table(name)
    if (t.primaryKey.length === 0) {
      throw new CleanupError(
        'CLEANUP_FAILED',
        `Table ${name} has no primary key, and its rows take part in a foreign-key cycle: cleanup cannot track which of them it owns. Add a primary key to ${name}.`,
        { details: { table: name } },
      )
    }
    return t.primaryKey
  }
  const ownedKeys = (name: string) => `(select * from ${keyTable.get(name)})`
  const parentKeys = (fk: ForeignKey) =>
    `(select ${fk.refColumns.map((c) => `p.${q(c)}`).join(', ')} from ${qTable(table(fk.refTable))} as p where ${tuple('p', pk(fk.refTable))} in ${ownedKeys(fk.refTable)})`

  const setup = tables.map((name) => {
    const params = newParams()
    const where = seedPredicate(name, 't', params)
    return {
      text: `create temporary table ${keyTable.get(name)} on commit drop as select ${pk(name)
        .map((c) => `t.${q(c)}`)
        .join(', ')} from ${qTable(table(name))} as t where ${where.length ? where.join(' or ') : 'false'}`,
      params: params.values,
    }
  })
  const iterate: Statement[] = []
  for (const [child, fks] of owners) {
    for (const fk of fks) {
      iterate.push({
        text: `with i as (insert into ${keyTable.get(child)} select ${pk(child)
          .map((c) => `c.${q(c)}`)
          .join(
            ', ',
          )} from ${qTable(table(child))} as c where ${tuple('c', fk.columns)} in ${parentKeys(fk)} and ${tuple('c', pk(child))} not in ${ownedKeys(child)} returning 1) select count(*)::int as n from i`,
        params: [],
      })
    }
  }
  const checks: Statement[] = []
  const detaches: Statement[] = []
  for (const fk of nullable) {
    if (!closure.has(fk.refTable)) continue
    const childOwned = closure.has(fk.table) ? `${tuple('c', pk(fk.table))} in ${ownedKeys(fk.table)}` : 'false'
    const where = `${tuple('c', fk.columns)} in ${parentKeys(fk)} and not ${childOwned}`
    if ((options.nullableDependents?.[fk.table] ?? 'fail') === 'detach') {
      detaches.push({
        text: `update ${qTable(table(fk.table))} as c set ${fk.columns.map((col) => `${q(col)} = null`).join(', ')} where ${where}`,
        params: [],
      })
    } else {
      checks.push({
        text: `select ${literal(fk.table)} as "table", ${literal(fk.columns.join(', '))} as "column", ${literal(fk.name)} as "constraint", row_to_json(c)::text as "row" from ${qTable(table(fk.table))} as c where ${where} limit 5`,
        params: [],
      })
    }
  }
  const ctes = tables.map(
    (name, i) =>
      `d${i} as (delete from ${qTable(table(name))} as t where ${tuple('t', pk(name))} in ${ownedKeys(name)} returning 1)`,
  )
  const counts = tables.map((name, i) => `select ${literal(name)} as "table", count(*)::int as "deleted" from d${i}`)
  const deletes = [{ text: `with ${ctes.join(',\n')}\n${counts.join(' union all ')}`, params: [] }]
  return {
    mode: 'fixpoint',
    tables: order.length ? order : tables,
    setup,
    iterate,
    checks,
    detaches,
    deletes,
    count: null,
  }
}

/**
 * `columns` among the rows `select` returns. One column: `= any(array(…))`, which PostgreSQL runs as an
 * index scan of the column's values (measured: `in (select …)` planned a hash join over a sequential
 * scan of each table, 1.5 ms per test's cleanup on small tables); several: `in (select …)`.
 */
export function inRows(columns: string, width: number, select: string): string {
  return width === 1 ? `${columns} = any(array(${select}))` : `${columns} in (${select})`
}
