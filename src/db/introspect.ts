import { ConnectionError } from '../errors.js'
import type { Database } from './database.js'
import type { ColumnSchema, ForeignKey, OnDelete, SchemaGraph, TableSchema } from './schema-graph.js'
import { schemaOfKey, tableKey } from '../table-key.js'

export interface IntrospectOptions {
  /**
   * Schemas whose tables to read. Tables elsewhere that reference them, or that they reference,
   * are included too.
   * @default ['public']
   */
  schemas?: readonly string[]
}

/** `pg_constraint.confdeltype` → the foreign key's ON DELETE action (read, never issued by leakless). */
const ON_DELETE: Record<string, OnDelete> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade', // ON DELETE CASCADE of the user's schema
  n: 'set null',
  d: 'set default',
}

// One statement, so tables and foreign keys come from one snapshot; each half is aggregated to JSON
// text, which every driver returns as a plain string. Partitions and the per-partition copies of a
// partitioned table's foreign keys (conparentid <> 0) are left out: the partitioned table stands for them.
const INTROSPECT_SQL = `
with recursive fk as (
  select f.conname, f.conrelid, f.confrelid, f.conkey, f.confkey, f.confdeltype, f.condeferrable, f.condeferred
  from pg_constraint f
  join pg_class t on t.oid = f.conrelid
  join pg_namespace tn on tn.oid = t.relnamespace
  join pg_class r on r.oid = f.confrelid
  join pg_namespace rn on rn.oid = r.relnamespace
  where f.contype = 'f' and f.conparentid = 0 and (tn.nspname = any($1) or rn.nspname = any($1))
),
rel as (
  select c.oid
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1) and n.nspname <> 'leakless'
  union select conrelid from fk
  union select confrelid from fk
),
textual_type as (
  select t.oid from pg_type t where t.typtype = 'b' and t.typname in ('text', 'varchar', 'bpchar', 'citext')
  union
  select d.oid from pg_type d join textual_type b on b.oid = d.typbasetype where d.typtype = 'd'
)
select
  (
    select coalesce(json_agg(json_build_object(
      'schema', n.nspname,
      'table', c.relname,
      'bytes', case when c.relkind = 'p'
        then (select coalesce(sum(pg_relation_size(p.relid)), 0) from pg_partition_tree(c.oid) p)
        else pg_relation_size(c.oid) end,
      'primaryKey', array(
        select a.attname
        from pg_constraint p
        cross join unnest(p.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = p.conrelid and a.attnum = k.attnum
        where p.conrelid = c.oid and p.contype = 'p'
        order by k.ord
      ),
      'columns', coalesce((
        select json_agg(json_build_object(
          'name', a.attname,
          'type', format_type(a.atttypid, a.atttypmod),
          'nullable', not a.attnotnull,
          'textual', a.atttypid in (select oid from textual_type),
          'prefixIndexed', exists (
            select from pg_index i
            join pg_class ic on ic.oid = i.indexrelid
            join pg_am am on am.oid = ic.relam and am.amname = 'btree'
            join pg_opclass oc on oc.oid = i.indclass[0]
            left join pg_collation co on co.oid = i.indcollation[0]
            where i.indrelid = c.oid and i.indkey[0] = a.attnum and i.indisvalid and i.indpred is null
              and (oc.opcname in ('text_pattern_ops', 'varchar_pattern_ops', 'bpchar_pattern_ops') or co.collname in ('C', 'POSIX'))
          )
        ) order by a.attnum)
        from pg_attribute a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      ), '[]')
    ) order by n.nspname, c.relname), '[]')::text
    from rel
    join pg_class c on c.oid = rel.oid
    join pg_namespace n on n.oid = c.relnamespace
  ) as tables,
  (
    select coalesce(json_agg(json_build_object(
      'name', fk.conname,
      'schema', tn.nspname,
      'table', t.relname,
      'columns', array(
        select a.attname
        from unnest(fk.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = fk.conrelid and a.attnum = k.attnum
        order by k.ord
      ),
      'refSchema', rn.nspname,
      'refTable', r.relname,
      'refColumns', array(
        select a.attname
        from unnest(fk.confkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = fk.confrelid and a.attnum = k.attnum
        order by k.ord
      ),
      'nullable', exists(
        select from pg_attribute a
        where a.attrelid = fk.conrelid and a.attnum = any(fk.conkey) and not a.attnotnull
      ),
      'onDelete', fk.confdeltype::text,
      'deferrable', fk.condeferrable,
      'initiallyDeferred', fk.condeferred
    ) order by tn.nspname, t.relname, fk.conname), '[]')::text
    from fk
    join pg_class t on t.oid = fk.conrelid
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_class r on r.oid = fk.confrelid
    join pg_namespace rn on rn.oid = r.relnamespace
  ) as foreign_keys
`

interface RawTable {
  schema: string
  table: string
  bytes: number
  primaryKey: string[]
  columns: ColumnSchema[]
}

interface RawForeignKey extends Omit<ForeignKey, 'table' | 'refTable' | 'onDelete'> {
  schema: string
  table: string
  refSchema: string
  refTable: string
  onDelete: string
}

/**
 * Reads tables, primary keys, columns and foreign keys from `pg_catalog` in one query. Tables in other
 * schemas that reference the listed ones (or are referenced by them) are included too.
 *
 * @example
 * const graph = await introspectSchema(db)
 * const users = graph.tables.get('public.users')
 */
export async function introspectSchema(db: Database, options: IntrospectOptions = {}): Promise<SchemaGraph> {
  const schemas = [...(options.schemas ?? ['public'])]
  const [row] = await db.execute<{ tables: string; foreign_keys: string }>(INTROSPECT_SQL, [schemas])
  const rawTables = JSON.parse(row!.tables) as RawTable[]
  const rawForeignKeys = JSON.parse(row!.foreign_keys) as RawForeignKey[]

  const tables = new Map<string, TableSchema>()
  for (const t of rawTables) {
    const name = tableKey(t.schema, t.table)
    tables.set(name, {
      name,
      schema: t.schema,
      table: t.table,
      primaryKey: t.primaryKey,
      columns: t.columns,
      bytes: Number(t.bytes),
    })
  }
  const foreignKeys = rawForeignKeys.map((fk): ForeignKey => {
    const onDelete = ON_DELETE[fk.onDelete]
    if (!onDelete) {
      throw new ConnectionError(
        'DB_UNSUPPORTED',
        `leakless cannot read foreign key "${fk.name}" on ${tableKey(fk.schema, fk.table)}: unknown ON DELETE action "${fk.onDelete}" (pg_constraint.confdeltype).`,
        { details: { foreignKey: fk } },
      )
    }
    return {
      name: fk.name,
      table: tableKey(fk.schema, fk.table),
      columns: fk.columns,
      refTable: tableKey(fk.refSchema, fk.refTable),
      refColumns: fk.refColumns,
      nullable: fk.nullable,
      onDelete,
      deferrable: fk.deferrable,
      initiallyDeferred: fk.initiallyDeferred,
    }
  })
  return { tables, foreignKeys }
}

const cache = new WeakMap<Database, Map<string, Promise<SchemaGraph>>>()
const keyOf = (options: IntrospectOptions) => JSON.stringify([...new Set(options.schemas ?? ['public'])].sort())

/**
 * {@link introspectSchema}, memoised per `Database` and schema list (order and duplicates ignored).
 * A failed introspection is not cached. Call {@link invalidateSchema} after DDL.
 *
 * @example
 * const graph = await cachedSchema(db, { schemas: ['public'] })
 */
export function cachedSchema(db: Database, options: IntrospectOptions = {}): Promise<SchemaGraph> {
  const key = keyOf(options)
  let byKey = cache.get(db)
  if (!byKey) cache.set(db, (byKey = new Map()))
  const cached = byKey.get(key)
  if (cached) return cached
  const graph = introspectSchema(db, options)
  byKey.set(key, graph)
  graph.catch(() => {
    if (byKey.get(key) === graph) byKey.delete(key)
  })
  return graph
}

/**
 * The cached graph of `schemas` and of the schemas of every table in `tables` (tables a run wrote to or
 * knows tag columns of), read again from the catalog when it lacks one of them: a graph cached before a
 * migration, or one without a table alone in a schema nobody listed, must not make their rows invisible.
 * A table that is truly gone is looked for again on every call (remembering misses could hide a table
 * created later).
 * @internal
 */
export async function graphCovering(
  db: Database,
  schemas: readonly string[] | undefined,
  tables: Iterable<string>,
): Promise<SchemaGraph> {
  const named = [...tables]
  const options = { schemas: [...new Set([...(schemas ?? ['public']), ...named.map(schemaOfKey)])] }
  const graph = await cachedSchema(db, options)
  if (named.every((table) => graph.tables.has(table))) return graph
  cache.get(db)?.delete(keyOf(options))
  return cachedSchema(db, options)
}

/**
 * Forgets every schema graph {@link cachedSchema} holds for `db`, so the next call reads the catalog again.
 *
 * @example
 * await db.execute('alter table users add column nickname text')
 * invalidateSchema(db)
 */
export function invalidateSchema(db: Database): void {
  cache.delete(db)
}
