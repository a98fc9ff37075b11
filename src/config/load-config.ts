import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'
import { parseDuration } from './duration.js'
import type { LeaklessConfig } from './define-config.js'

/** File names looked for, in this order, in the working directory and its parents up to the project root. */
export const CONFIG_FILES = ['leakless.config.ts', 'leakless.config.mts', 'leakless.config.js', 'leakless.config.mjs']

/** A configuration with where it came from; relative paths in it are resolved. */
export interface ResolvedConfig extends LeaklessConfig {
  /** Absolute path of the file it was read from, or null when there is none. */
  readonly file: string | null
}

export interface LoadConfigOptions {
  /** Where the search starts. @default process.cwd() */
  cwd?: string
  /** A config file to read instead of searching. @default `LEAKLESS_CONFIG`, else searched */
  file?: string
  /** Options given in code: they override the file's. */
  overrides?: LeaklessConfig
  /** @default process.env */
  env?: NodeJS.ProcessEnv
}

/** Finds `leakless.config.*` from `cwd` up to the nearest folder with a package.json; null when none. */
export function findConfigFile(cwd: string = process.cwd()): string | null {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of CONFIG_FILES) {
      const file = join(dir, name)
      if (existsSync(file)) return file
    }
    if (existsSync(join(dir, 'package.json')) || dirname(dir) === dir) return null
  }
}

/**
 * Reads `leakless.config.ts` (TypeScript through jiti) and merges the options given in code over it.
 * Without a file the configuration is the overrides alone.
 *
 * @example
 * const config = await loadConfig({ overrides: { onLeak: 'warn' } })
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const env = options.env ?? process.env
  const cwd = resolve(options.cwd ?? process.cwd())
  const named = options.file ?? (env.LEAKLESS_CONFIG || undefined)
  let file: string | null
  if (named !== undefined) {
    file = isAbsolute(named) ? named : resolve(cwd, named)
    if (!existsSync(file)) {
      throw new ConfigError(
        'CONFIG_NOT_FOUND',
        `Config file ${file} does not exist (${options.file === undefined ? 'LEAKLESS_CONFIG' : 'loadConfig({ file })'}). Create it with \`export default defineConfig({ … })\`, or point to the right path.`,
        { details: { file } },
      )
    }
  } else {
    file = findConfigFile(cwd)
  }
  const fromFile = file === null ? {} : resolvePaths(checkConfig(await importConfig(file), file), dirname(file))
  const overrides = options.overrides === undefined ? {} : resolvePaths(checkConfig(options.overrides, null), cwd)
  return { ...fromFile, ...overrides, file }
}

async function importConfig(file: string): Promise<unknown> {
  try {
    const { createJiti } = await import('jiti')
    const jiti = createJiti(pathToFileURL(file).href, { moduleCache: false })
    return await jiti.import(file, { default: true })
  } catch (error) {
    throw new ConfigError(
      'CONFIG_LOAD_FAILED',
      `Could not load ${file}: ${(error as Error).message}. It must \`export default defineConfig({ … })\` (import { defineConfig } from 'leakless').`,
      { cause: error, details: { file } },
    )
  }
}

function resolvePaths(config: LeaklessConfig, base: string): LeaklessConfig {
  const out: LeaklessConfig = { ...config }
  if (config.migrations !== undefined) out.migrations = resolve(base, config.migrations)
  if (config.embedded && config.embedded.dataDir !== undefined) {
    out.embedded = { ...config.embedded, dataDir: resolve(base, config.embedded.dataDir) }
  }
  return out
}

const KEYS: Record<keyof LeaklessConfig, (value: unknown) => string | null> = {
  databaseUrl: (v) => (typeof v === 'string' && /^postgres(ql)?:\/\//.test(v) ? null : 'a postgres:// URL'),
  embedded: (v) =>
    v === false ||
    (isRecord(v) &&
      Object.keys(v).every((k) => k === 'dataDir' || k === 'database' || k === 'onLog') &&
      (v.dataDir === undefined || (typeof v.dataDir === 'string' && v.dataDir !== '')) &&
      (v.database === undefined || (typeof v.database === 'string' && v.database !== '')) &&
      (v.onLog === undefined || typeof v.onLog === 'function'))
      ? null
      : "false or { dataDir?: 'folder', database?: 'name', onLog?: (line) => void }",
  migrations: (v) => (typeof v === 'string' && v !== '' ? null : 'a folder path'),
  emailDomain: (v) => (typeof v === 'string' && v !== '' ? null : "a domain such as 'example.test'"),
  tagColumns: (v) => (isRecord(v) && Object.values(v).every(isStringArray) ? null : "{ 'public.users': ['email'] }"),
  nullableDependents: (v) =>
    isRecord(v) && Object.values(v).every((r) => r === 'fail' || r === 'detach' || r === 'delete')
      ? null
      : "{ 'public.table': 'fail' | 'detach' | 'delete' }",
  schemas: (v) => (isStringArray(v) && v.length > 0 && v.every((s) => s !== '') ? null : "['public']"),
  onLeak: (v) => (v === 'fail' || v === 'warn' ? null : "'fail' or 'warn'"),
  sweep: (v) =>
    v === false ||
    (isRecord(v) &&
      Object.keys(v).every((k) => k === 'olderThan') &&
      (v.olderThan === undefined || (typeof v.olderThan === 'string' && parseDuration(v.olderThan) !== null)))
      ? null
      : "false or { olderThan: '1h' } (30s, 15m, 1h, 2d or 0)",
  isolation: (v) =>
    v === 'shared' || v === 'transaction' || v === 'schema' || v === 'database'
      ? null
      : "'shared', 'transaction', 'schema' or 'database'",
  cleanup: (v) => (v === 'after-each' || v === 'background' ? null : "'after-each' or 'background'"),
  allow: (v) =>
    isRecord(v) &&
    Object.keys(v).every((k) => k === 'production' || k === 'remote' || k === 'databases') &&
    (v.production === undefined || typeof v.production === 'boolean') &&
    (v.remote === undefined || typeof v.remote === 'boolean') &&
    (v.databases === undefined || isStringArray(v.databases))
      ? null
      : "{ production?: boolean, remote?: boolean, databases?: ['name'] }",
}

/** Checks a configuration's shape; names the key, what it holds and what it should hold. */
export function checkConfig(value: unknown, file: string | null): LeaklessConfig {
  const where = file ?? 'the options given in code'
  if (!isRecord(value)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${where} does not export a configuration object: export default defineConfig({ … }).`,
      { details: { file } },
    )
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue
    // Own keys only: "__proto__" or "toString" must not find Object.prototype's.
    const check = Object.hasOwn(KEYS, key) ? KEYS[key as keyof LeaklessConfig] : undefined
    if (check === undefined) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `Unknown option "${key}" in ${where}. Known options: ${Object.keys(KEYS).join(', ')}.`,
        { details: { file, key } },
      )
    }
    const expected = check(item)
    if (expected !== null) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `Option "${key}" in ${where} is ${describeValue(item)}; expected ${expected}.`,
        { details: { file, key } },
      )
    }
  }
  return value as LeaklessConfig
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
