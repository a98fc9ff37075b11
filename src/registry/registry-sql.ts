/**
 * The run registry's tables: what every worker, shard and later CLI call of a run shares through the
 * database (no local files). Pure SQL text; `registry.ts` runs it.
 */

import type { TableSchema } from '../db/schema-graph.js'
import { literal } from '../db/sql-text.js'

/** The schema leakless keeps its registry in. Never introspected, never cleaned by the planner. */
export const REGISTRY_SCHEMA = 'leakless'

/** Version of the tables below; a later release migrates from older versions, and refuses newer ones. */
export const REGISTRY_VERSION = 3

/** Where a run's tag column came from. */
export type TagColumnSource = 'declared' | 'factory' | 'insert' | 'discovered'

/** First key of every leakless advisory lock ('lkls'), so our locks stay apart from the application's. */
export const ADVISORY_NAMESPACE = 0x6c6b6c73

/** `"leakless"."<table>"` */
export const registryTable = (
  table:
    | 'meta'
    | 'runs'
    | 'processes'
    | 'tag_columns'
    | 'untagged'
    | 'process_numbers'
    | 'closed_processes'
    | 'created_resources',
): string => `"${REGISTRY_SCHEMA}"."${table}"`

// Tables added after version 1 (every statement is idempotent, so any older registry takes them all).
// Version 2: process_numbers and closed_processes; version 3: created_resources. process_numbers: the last short process number of a run; it outlives the run's other rows
// (a number is never handed out twice) and goes only when the run is past PROCESS_NUMBER_RETENTION_MS.
// closed_processes: who a closed process was and its tests' names, so a row written after its close is
// reported with its test; removed with the run at the end of it, or by the sweep once stale.
// created_resources: what leakless itself created for a run context (kind 'schema': a worker's schema
// under isolation 'schema'), written before the resource exists and removed once it is dropped, so the
// sweep drops what a dead process left — and only what is recorded here.
function laterTables(): string[] {
  return [
    `create table if not exists ${registryTable('process_numbers')} (
    run_tag text collate "C" primary key,
    last integer not null
  )`,
    `create table if not exists ${registryTable('closed_processes')} (
    prefix text collate "C" primary key,
    run_tag text collate "C" not null,
    shard integer,
    worker integer not null,
    pid integer not null,
    clean boolean not null,
    scopes jsonb not null,
    closed_at timestamptz not null default now()
  )`,
    `create index if not exists closed_processes_run_tag on ${registryTable('closed_processes')} (run_tag)`,
    `create table if not exists ${registryTable('created_resources')} (
    kind text not null,
    name text collate "C" not null,
    run_tag text collate "C" not null,
    owner text collate "C" not null,
    created_at timestamptz not null default now(),
    primary key (kind, name)
  )`,
  ]
}

// No foreign keys between them: a run's rows are removed by explicit statements, and a factory insert
// that journals an untagged key takes no lock on a registry row shared with other workers.
export const CREATE_REGISTRY_SQL = [
  `create schema if not exists ${REGISTRY_SCHEMA}`,
  `create table if not exists ${registryTable('meta')} (key text primary key, value text not null)`,
  `create table if not exists ${registryTable('runs')} (
    run_tag text collate "C" primary key,
    started_at timestamptz not null,
    registered_at timestamptz not null default now(),
    host text,
    ci jsonb
  )`,
  `create table if not exists ${registryTable('processes')} (
    prefix text collate "C" primary key,
    run_tag text collate "C" not null,
    shard integer,
    worker integer not null,
    pid integer not null,
    host text,
    started_at timestamptz not null default now(),
    closed_at timestamptz
  )`,
  `create index if not exists processes_run_tag on ${registryTable('processes')} (run_tag)`,
  `create table if not exists ${registryTable('tag_columns')} (
    run_tag text collate "C" not null,
    table_schema text not null,
    table_name text not null,
    column_name text not null,
    source text not null,
    found_at timestamptz not null default now(),
    primary key (run_tag, table_schema, table_name, column_name)
  )`,
  `create table if not exists ${registryTable('untagged')} (
    prefix text collate "C" not null,
    table_schema text not null,
    table_name text not null,
    key jsonb not null,
    created_at timestamptz not null default now()
  )`,
  `create index if not exists untagged_prefix on ${registryTable('untagged')} (prefix)`,
  ...laterTables(),
  `insert into ${registryTable('meta')} (key, value) values ('version', '${REGISTRY_VERSION}') on conflict (key) do nothing`,
]

/** From any older version: the tables added since version 1, then the version. */
export const MIGRATE_SQL = [
  ...laterTables(),
  `update ${registryTable('meta')} set value = '${REGISTRY_VERSION}' where key = 'version' and value::int < ${REGISTRY_VERSION}`,
]

/** Drops exactly the tables above and then the schema, without CASCADE: anything else in it stops the drop. */
export const DROP_REGISTRY_SQL = [
  `drop table if exists ${registryTable('created_resources')}, ${registryTable('closed_processes')}, ${registryTable('process_numbers')}, ${registryTable('untagged')}, ${registryTable('tag_columns')}, ${registryTable('processes')}, ${registryTable('runs')}, ${registryTable('meta')}`,
  `drop schema if exists ${REGISTRY_SCHEMA}`,
]

/** Whether the registry exists (a name that does not resolve cannot even be parsed in a query). */
export const EXISTS_SQL = `select to_regclass('${REGISTRY_SCHEMA}.meta') is not null as exists`

/** The registry's version (run once it exists). */
export const VERSION_SQL = `select value as version from ${registryTable('meta')} where key = 'version'`

/** The key columns of `t` as journaled in `leakless.untagged` (alias `j`), cast back to their types. */
export function journaledKey(t: TableSchema): string[] {
  return t.primaryKey.map((c) => `(j.key ->> ${literal(c)})::${t.columns.find((col) => col.name === c)!.type}`)
}

/** `"leakless"."untagged" as j where …`: the journal entries of table `t` under a LIKE pattern parameter. */
export function journalOf(t: TableSchema, pattern: string): string {
  return `${registryTable('untagged')} as j where j.table_schema = ${literal(t.schema)} and j.table_name = ${literal(t.table)} and j.prefix like ${pattern} escape '\\'`
}
