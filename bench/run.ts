/**
 * `npm run bench`: every benchmark, one after the other, each in a process of its own, then the report.
 * `npm run bench -- <name> [<name>…]`: those benchmarks, in this process. `npm run bench -- report`: the
 * report (bench/results/report.html and report.md) from the JSON files; `-- readme` also the README's
 * "Performance" section from them (and bench/snapshot.json, what it quotes).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RESULTS_DIR } from './lib/measure.js'

type Bench = { run: () => Promise<boolean> }

/** Benchmarks by name, in the order `npm run bench` runs them; `suite` when bench/suite.ts exists. */
const BENCHMARKS: Record<string, string> = {
  ids: './ids.js',
  create: './create.js',
  cleanup: './cleanup.js',
  'per-test': './per-test.js',
  audit: './audit.js',
  embedded: './embedded.js',
  suite: './suite.js',
  registry: './registry.js',
  ledger: './ledger.js',
  schema: './schema-setup.js',
  isolation: './isolation.js',
}

const exists = (module: string) => existsSync(fileURLToPath(new URL(module.replace(/\.js$/, '.ts'), import.meta.url)))
const available = Object.keys(BENCHMARKS).filter((name) => exists(BENCHMARKS[name]!))

async function runInProcess(names: string[]): Promise<number> {
  let failed = 0
  for (const name of names) {
    const { run } = (await import(BENCHMARKS[name]!)) as Bench
    if (!(await run())) failed++
  }
  return failed
}

/** Each benchmark alone in a child process (no JIT, heap or pool state carried over), timed. */
function runAll(): number {
  const self = fileURLToPath(import.meta.url)
  const timings: Record<string, { seconds: number; exitCode: number | null }> = {}
  const started = process.hrtime.bigint()
  for (const name of available) {
    const start = process.hrtime.bigint()
    console.log(`\n=== ${name} ===`)
    const child = spawnSync(process.execPath, [...process.execArgv, self, name], { stdio: 'inherit' })
    timings[name] = { seconds: Number(process.hrtime.bigint() - start) / 1e9, exitCode: child.status }
  }
  const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(
    join(RESULTS_DIR, '_run.json'),
    `${JSON.stringify({ date: new Date().toISOString(), totalSeconds, benchmarks: timings }, null, 2)}\n`,
  )
  console.log('\nbenchmark      seconds  exit')
  for (const [name, t] of Object.entries(timings)) {
    console.log(
      `${name.padEnd(13)} ${t.seconds.toFixed(1).padStart(8)}  ${t.exitCode === 0 ? 'pass' : t.exitCode === 1 ? 'FAIL' : `exit ${t.exitCode}`}`,
    )
  }
  console.log(`total         ${totalSeconds.toFixed(1).padStart(8)}`)
  return Object.values(timings).filter((t) => t.exitCode !== 0).length
}

const names = process.argv.slice(2)
if (names.length === 1 && (names[0] === 'report' || names[0] === 'readme')) {
  const { writeReadme, writeReport } = await import('./report/write.js')
  if (names[0] === 'report') writeReport()
  else await writeReadme()
  process.exit(0)
}
const unknown = names.filter((n) => !available.includes(n))
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${available.join(', ')}; and report, readme.`)
  process.exit(2)
}
let failed: number
if (names.length > 0) failed = await runInProcess(names)
else {
  failed = runAll()
  const { writeReport } = await import('./report/write.js')
  writeReport()
}
process.exit(failed === 0 ? 0 : 1)
