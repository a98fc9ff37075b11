/** Benchmark results of the shape `npm run bench` writes, for the report's tests (no bench run needed). */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { passes, type BenchResult, type ResultInput } from '../../bench/lib/measure.js'

const environment = { node: 'v20.19.0', platform: 'linux-x64', cpus: 2, date: '2026-12-02T17:00:00.000Z' }

function result(input: ResultInput): BenchResult {
  return { ...input, pass: passes(input.ratios, input.targets), environment }
}

/** Four benchmarks: met targets, a missed one, reported ratios only, seconds and a growth series. */
export const fixtureResults: BenchResult[] = [
  result({
    name: 'ids',
    config: { rounds: 11 },
    metrics: { opsPerSec: { 'scope.id()': 20_500_000, 'crypto.randomUUID()': 3_900_000, 'nanoid()': 4_100_000 } },
    ratios: { vsRandomUUID: 5.25, vsNanoid: 5 },
    targets: { vsRandomUUID: '>= 4' },
    labels: { vsRandomUUID: 'scope.id() ids/s vs crypto.randomUUID()' },
  }),
  result({
    name: 'audit',
    config: { foreignRows: 1_000_000, server: 'PostgreSQL 15.20' },
    metrics: { 'index.medianMs': { 'audit({ runTag, ledger })': 7.5, 'raw prefix query': 0.8 } },
    ratios: { 'index.auditLedgerVsRaw': 9.4, 'auditLedger.largeVsSmall': 2.5 },
    targets: { 'index.auditLedgerVsRaw': '<= 1.3' },
    labels: { 'index.auditLedgerVsRaw': 'audit({ runTag, ledger }) vs the raw indexed prefix query' },
    scaling: [
      {
        what: 'audit({ runTag, ledger }), prefix indexes',
        unit: 'ms',
        points: [
          { size: '105 rows', value: 3 },
          { size: '1,000,105 rows', value: 7.5 },
        ],
      },
    ],
  }),
  result({
    name: 'embedded',
    config: { coldRounds: 3 },
    metrics: { coldS: { 'ready (migrated)': 1.2 }, warmS: { 'ready (migrations checked)': 0.09 } },
    ratios: { coldSeconds: 1.2, warmSeconds: 0.09 },
    targets: { coldSeconds: '<= 3', warmSeconds: '<= 0.5' },
  }),
  result({
    name: 'isolation',
    config: {},
    metrics: { workerMs: { shared: 80, transaction: 78, schema: 220, database: 260 } },
    ratios: { 'worker.schemaVsShared': 2.75, 'worker.databaseVsShared': 3.25 },
    targets: {},
  }),
]

/** Writes the fixture results (and a run's timing) into `dir` as `npm run bench` would. */
export function writeFixtureResults(dir: string, results = fixtureResults): void {
  mkdirSync(dir, { recursive: true })
  for (const r of results) writeFileSync(join(dir, `${r.name}.json`), JSON.stringify(r, null, 2))
  const benchmarks = Object.fromEntries(results.map((r, i) => [r.name, { seconds: 10 + i, exitCode: r.pass ? 0 : 1 }]))
  writeFileSync(join(dir, '_run.json'), JSON.stringify({ date: environment.date, totalSeconds: 300, benchmarks }))
}
