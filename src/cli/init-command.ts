import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { ConfigError } from '../errors.js'
import { CliExit, EXIT } from './exit.js'
import { generateFactories } from './init/generate-factories.js'
import { findSchemaModule, loadSchemaTables } from './init/load-schema.js'
import {
  configSource,
  fixturesSnippet,
  INIT_RUNNERS,
  PLAYWRIGHT_SNIPPET,
  VITEST_CONFIG,
  VITEST_SETUP,
  VITEST_SNIPPET,
  type InitRunner,
} from './init/runner-wiring.js'
import type { CliIo } from './io.js'

export interface InitFlags {
  /** The drizzle schema module. @default drizzle.config.ts's `schema` */
  schema?: string
  /** The factories module to write. @default 'test/factories.ts' */
  out?: string
  /** @default 'vitest' */
  runner?: string
  /** Overwrite files that exist. */
  force?: boolean
}

/** An import specifier from one file to another: relative, `./` first, the `.ts` family as `.js`. */
export function importPath(from: string, to: string): string {
  const path = relative(dirname(from), to).split(sep).join('/')
  const js = path.replace(/\.(m|c)?tsx?$/, (_, m: string | undefined) => `.${m ?? ''}js`)
  return js.startsWith('.') ? js : `./${js}`
}

/**
 * `leakless init`: reads the drizzle schema module and writes `leakless.config.ts`, a factories module
 * (one factory per table) and, for Vitest, `vitest.config.ts` when there is none; prints what to add
 * elsewhere. Refuses (`INIT_FILE_EXISTS`, exit 2) to overwrite a file unless `--force`.
 */
export async function initCommand(flags: InitFlags, io: CliIo, cwd: string = process.cwd()): Promise<number> {
  const runner = (flags.runner ?? 'vitest') as InitRunner
  if (!INIT_RUNNERS.includes(runner)) {
    throw new CliExit(
      EXIT.error,
      `--runner ${JSON.stringify(flags.runner)} is not a runner. Use ${INIT_RUNNERS.join(', ')}. Run \`leakless init --help\`.`,
    )
  }
  const schemaFile = await findSchemaModule(cwd, flags.schema)
  const tables = await loadSchemaTables(schemaFile)
  const out = resolve(cwd, flags.out ?? 'test/factories.ts')
  const configFile = join(cwd, 'leakless.config.ts')
  const vitestConfig = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs']
    .map((name) => join(cwd, name))
    .find((file) => existsSync(file))
  const wantsVitest = runner !== 'playwright'
  const files = new Map<string, string>([
    [
      configFile,
      configSource({ migrations: migrationsOf(cwd), schemas: [...new Set(tables.map((t) => t.schema))].sort() }),
    ],
    [out, generateFactories(tables, { schemaImport: importPath(out, schemaFile) })],
  ])
  if (wantsVitest && vitestConfig === undefined) files.set(join(cwd, 'vitest.config.ts'), VITEST_CONFIG)

  const existing = [...files.keys()].filter((file) => existsSync(file))
  if (existing.length > 0 && flags.force !== true) {
    throw new ConfigError(
      'INIT_FILE_EXISTS',
      `leakless init writes nothing: ${existing.map((f) => relative(cwd, f)).join(', ')} ${existing.length === 1 ? 'exists' : 'exist'}. Move ${existing.length === 1 ? 'it' : 'them'} away, pass another --out, or --force to overwrite.`,
      { details: { files: existing } },
    )
  }
  for (const [file, text] of files) {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const factoriesCount = (files.get(out)!.match(/= defineFactory\(/g) ?? []).length
  io.out(
    `leakless init: ${factoriesCount} of ${tables.length} tables got a factory (from ${relative(cwd, schemaFile)})`,
  )
  for (const file of files.keys()) io.out(`  wrote ${relative(cwd, file)}`)
  const next: string[] = []
  if (wantsVitest && vitestConfig !== undefined && !readFileSync(vitestConfig, 'utf8').includes(VITEST_SETUP)) {
    next.push(VITEST_SNIPPET)
  }
  if (runner !== 'vitest') next.push(PLAYWRIGHT_SNIPPET)
  const fixtures = join(dirname(out), 'fixtures.ts')
  for (const name of runner === 'both' ? (['vitest', 'playwright'] as const) : [runner]) {
    next.push(`// a fixtures file next to your tests (${name})\n${fixturesSnippet(name, importPath(fixtures, out))}`)
  }
  io.out(`\nNext:\n\n${next.join('\n\n')}`)
  return EXIT.ok
}

function migrationsOf(cwd: string): string | null {
  return existsSync(join(cwd, 'drizzle', 'meta', '_journal.json')) ? './drizzle' : null
}
