import { isLeaseHeld } from '../cleanup/lease.js'
import { assertSafeTarget } from '../db/guard.js'
import { guardOptionsOf } from '../lifecycle/config-options.js'
import { dropRegistry, readRuns, registryVersion, REGISTRY_SCHEMA, type RegisteredRun } from '../registry/registry.js'
import { dropTemplates, readCreatedDatabases } from '../registry/created-databases.js'
import { readCreatedSchemas } from '../registry/created-resources.js'
import { openConfigured } from './config.js'
import { CliExit, EXIT } from './exit.js'
import type { CliIo } from './io.js'
import { runTagOption } from './option-checks.js'

export interface RegistryFlags {
  run?: string
  json?: boolean
  drop?: boolean
  config?: string
}

/** `leakless registry`: what the run registry in the database knows; `--drop` removes it when no run is live. */
export async function registryCommand(flags: RegistryFlags, io: CliIo): Promise<number> {
  if (flags.run !== undefined) runTagOption('run', flags.run)
  const { config, db } = await openConfigured(io, flags.config)
  try {
    const version = await registryVersion(db)
    if (flags.drop) {
      if (version === null) {
        io.out(`leakless registry: this database has no registry (schema "${REGISTRY_SCHEMA}"); nothing to drop`)
        return EXIT.ok
      }
      await assertSafeTarget(db, guardOptionsOf(config))
      const live: string[] = []
      for (const run of await readRuns(db)) {
        for (const p of run.processes) if (p.closedAt === null && (await isLeaseHeld(db, p.prefix))) live.push(p.prefix)
      }
      if (live.length > 0) {
        throw new CliExit(
          EXIT.error,
          `Refusing to drop the run registry: ${live.length} live run process(es) hold a lease (${live.slice(0, 3).join(', ')}${live.length > 3 ? ', …' : ''}). Their cleanup needs it; drop it when they have ended.`,
        )
      }
      // Its records are the only thing that lets a sweep drop these schemas; without them they stay forever.
      const schemas = (await readCreatedSchemas(db)).map((s) => s.name)
      const databases = (await readCreatedDatabases(db)).map((s) => s.name)
      for (const [names, what] of [
        [schemas, "schema(s) leakless created for isolation 'schema'"],
        [databases, "database(s) leakless created for isolation 'database'"],
      ] as const) {
        if (names.length === 0) continue
        throw new CliExit(
          EXIT.error,
          `Refusing to drop the run registry: it records ${names.length} ${what} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}), and nothing would drop them without it. Run \`leakless sweep\` once their runs have ended (\`--older-than 0\` for any age), then drop it.`,
        )
      }
      // Templates are rebuilt from the migrations when needed; unrecorded, their names would stay taken.
      await dropTemplates(db, 'all')
      await dropRegistry(db)
      io.out(`leakless registry: dropped schema "${REGISTRY_SCHEMA}" (version ${version})`)
      return EXIT.ok
    }
    const runs = version === null ? [] : await readRuns(db, flags.run)
    if (flags.json) {
      io.out(JSON.stringify({ schema: REGISTRY_SCHEMA, version, runs }, null, 2))
      return EXIT.ok
    }
    io.out(formatRegistry(version, runs))
    return EXIT.ok
  } finally {
    await db.close()
  }
}

/** One block per run: when and where it started, its processes, its tag columns and journaled rows. */
export function formatRegistry(version: number | null, runs: readonly RegisteredRun[]): string {
  if (version === null)
    return `leakless registry: none in this database (schema "${REGISTRY_SCHEMA}" is created by the first run)`
  const lines = [
    `leakless registry v${version} (schema "${REGISTRY_SCHEMA}"): ${runs.length} run${runs.length === 1 ? '' : 's'}`,
  ]
  for (const run of runs) {
    const open = run.processes.filter((p) => p.closedAt === null).length
    const ci =
      run.ci === null
        ? ''
        : `, ${Object.entries(run.ci)
            .map(([k, v]) => `${k} ${v}`)
            .join(' ')}`
    lines.push(
      `${run.runTag}  started ${run.startedAt.toISOString()}${run.host ? ` on ${run.host}` : ''}${ci}  processes ${run.processes.length} (${open} open)`,
    )
    for (const [table, columns] of Object.entries(run.tagColumns))
      lines.push(`  tags   ${table}: ${columns.join(', ')}`)
    for (const [table, n] of Object.entries(run.untagged))
      lines.push(`  keys   ${table}: ${n} untagged row${n === 1 ? '' : 's'}`)
  }
  return lines.join('\n')
}
