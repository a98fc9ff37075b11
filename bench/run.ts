/** `npm run bench -- [name…]`: runs the named benchmarks (all when none is named). */
const BENCHMARKS: Record<string, () => Promise<{ run: () => Promise<boolean> }>> = {
  ids: () => import('./ids.js'),
  create: () => import('./create.js'),
  cleanup: () => import('./cleanup.js'),
  registry: () => import('./registry.js'),
  ledger: () => import('./ledger.js'),
  schema: () => import('./schema-setup.js'),
  isolation: () => import('./isolation.js'),
  suite: () => import('./suite.js'),
}

const names = process.argv.slice(2)
const unknown = names.filter((n) => !(n in BENCHMARKS))
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${Object.keys(BENCHMARKS).join(', ')}.`)
  process.exit(2)
}
let failed = 0
for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
  const { run } = await BENCHMARKS[name]!()
  if (!(await run())) failed++
}
process.exit(failed === 0 ? 0 : 1)
