/**
 * The GitHub Actions recipes (README "GitHub Actions", docs/ci.md) against the README's "Sharded CI"
 * script, which test/adapters/readme.test.ts runs with the real Playwright and CLI: every `run:` of a
 * workflow is an install step or exactly a line of that script (the run tag written to
 * `$GITHUB_OUTPUT` instead of exported), the shard matrix matches `--shard`, every job that touches the
 * database gets the same run tag, and the database is the one the recipe says (the README: a postgres
 * service of the same job, with the URL the guard accepts; docs/ci.md: one URL for every job).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkTarget } from '../../src/db/guard.js'
import { parseYaml, type YamlValue } from '../support/yaml-subset.js'

const root = resolve(import.meta.dirname, '../..')
const read = (path: string) => readFileSync(resolve(root, path), 'utf8')
const readme = read('README.md')

/** Installing, not leakless: the only commands a workflow may run besides the script's. */
const INSTALL = ['npm ci', 'npx playwright install --with-deps chromium']

type YMap = Record<string, YamlValue>
const isMap = (v: YamlValue | undefined): v is YMap => typeof v === 'object' && v !== null && !Array.isArray(v)
const asMap = (v: YamlValue | undefined, what: string): YMap => {
  expect(isMap(v), `${what} is a mapping`).toBe(true)
  return v as YMap
}
const asList = (v: YamlValue | undefined): YamlValue[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])
const str = (v: YamlValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined)

function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`)
  expect(start, `README has "${heading}"`).toBeGreaterThan(-1)
  const rest = text.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`\\n#{1,${heading.indexOf(' ')}} `))
  return end === -1 ? rest : rest.slice(0, end)
}

function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

/** The Sharded CI script's commands: comments, `&` and blank lines dropped. */
const script = (() => {
  const blocks = [...section(readme, '### Sharded CI').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
  expect(blocks).toHaveLength(1)
  return blocks[0]!
    .split('\n')
    .map((line) =>
      line
        .replace(/\s+#.*$/, '')
        .replace(/\s*&$/, '')
        .trim(),
    )
    .filter((line) => line !== '')
})()

const tagLine = script.find((line) => line.startsWith('export LEAKLESS_RUN=$('))!
/** `node -e "…"`: what makes the run tag. */
const makeTag = /^export LEAKLESS_RUN=\$\((.*)\)$/.exec(tagLine ?? '')?.[1]
const shardLines = script.filter((line) => /--shard=\d+\/\d+$/.test(line))
const auditLine = script.find((line) => line.startsWith('npx leakless audit'))

interface Step {
  job: string
  id?: string
  run?: string
  if?: string
}

interface Workflow {
  env: YMap
  jobs: Record<string, YMap>
  steps: Step[]
}

function workflow(source: string): Workflow {
  const doc = asMap(parseYaml(source), 'the workflow')
  const jobs = asMap(doc.jobs, 'jobs') as Record<string, YMap>
  const steps = Object.entries(jobs).flatMap(([job, body]) =>
    asList(asMap(body, job).steps).map((step) => {
      const s = asMap(step, `a step of ${job}`)
      return { job, id: str(s.id), run: str(s.run), if: str(s.if) }
    }),
  )
  return { env: isMap(doc.env) ? doc.env : {}, jobs, steps }
}

/** A job's environment: the workflow's, then the job's. */
const envOf = (wf: Workflow, job: string): Record<string, string | undefined> => {
  const merged: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries({ ...wf.env, ...(isMap(wf.jobs[job]!.env) ? wf.jobs[job]!.env : {}) }))
    merged[k] = str(v)
  return merged
}

/** Checks every recipe shares with the script; returns the jobs that touch the database. */
function checkAgainstScript(wf: Workflow): { tagJob: string; shardJob: string; auditJob: string } {
  // The first job makes the run tag: `makeTag`, written to $GITHUB_OUTPUT under a name the job outputs.
  const tagSteps = wf.steps.filter((s) => s.run?.includes('$GITHUB_OUTPUT'))
  expect(tagSteps).toHaveLength(1)
  const tagStep = tagSteps[0]!
  const written = /^echo "(\w+)=\$\((.*)\)" >> "\$GITHUB_OUTPUT"$/.exec(tagStep.run!)
  expect(written, tagStep.run).not.toBeNull()
  expect(written![2], 'the run tag is made as the Sharded CI script makes it').toBe(makeTag)
  const tagJob = tagStep.job
  expect(Object.keys(wf.jobs)[0], 'the run tag job comes first').toBe(tagJob)
  expect(wf.jobs[tagJob]!.needs).toBeUndefined()
  const outputs = asMap(wf.jobs[tagJob]!.outputs, `${tagJob}.outputs`)
  const output = Object.entries(outputs).find(([, v]) => v === `\${{ steps.${tagStep.id}.outputs.${written![1]} }}`)
  expect(output, `${tagJob} outputs steps.${tagStep.id}.outputs.${written![1]}`).toBeDefined()
  const runTagExpression = `\${{ needs.${tagJob}.outputs.${output![0]} }}`

  // The shard jobs: the script's `--shard=i/n`, with i from the matrix and n its size.
  const shardSteps = wf.steps.filter((s) => s.run?.startsWith('npx playwright test'))
  expect(shardSteps).toHaveLength(1)
  const shardStep = shardSteps[0]!
  const shardJob = shardStep.job
  const matrix = asMap(asMap(wf.jobs[shardJob]!.strategy, 'strategy').matrix, 'matrix')
  const shards = asList(matrix.shard).map((v) => str(v))
  const n = shards.length
  expect(n).toBeGreaterThan(1)
  expect(shards).toEqual(Array.from({ length: n }, (_, k) => String(k + 1)))
  const shardTemplate = /^(.*--shard=)\d+\/\d+$/.exec(shardLines[0]!)![1]
  expect(shardStep.run).toBe(`${shardTemplate}\${{ matrix.shard }}/${n}`)
  for (const line of shardLines) expect(line).toMatch(new RegExp(`^${escape(shardTemplate!)}\\d+/\\d+$`))
  expect(asList(wf.jobs[shardJob]!.needs)).toContain(tagJob)

  // The audit: the script's last line, exactly, also after failed tests.
  const auditSteps = wf.steps.filter((s) => s.run?.startsWith('npx leakless'))
  expect(auditSteps).toHaveLength(1)
  const auditStep = auditSteps[0]!
  expect(auditStep.run).toBe(auditLine)
  const auditJob = auditStep.job
  expect(auditStep.if === 'always()' || wf.jobs[auditJob]!.if === 'always()', 'the audit runs after failures').toBe(
    true,
  )

  // Every run: is an install step or one of the above; every line of the script (but `wait`) is used.
  for (const step of wf.steps) {
    if (step.run === undefined) continue
    expect([...INSTALL, tagStep.run, shardStep.run, auditLine], `${step.job}: ${step.run}`).toContain(step.run)
  }
  expect(script.filter((line) => line !== 'wait' && line !== tagLine && !shardLines.includes(line))).toEqual([
    auditLine,
  ])

  // The jobs that write and audit rows share the run tag.
  for (const job of new Set([shardJob, auditJob])) expect(envOf(wf, job).LEAKLESS_RUN, job).toBe(runTagExpression)
  return { tagJob, shardJob, auditJob }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('the YAML subset reader', () => {
  it('reads what the workflows use', () => {
    expect(
      parseYaml(
        [
          'on: [push, pull_request] # comment',
          'jobs:',
          '  a:',
          '    steps:',
          '      - uses: x@v4',
          '        with:',
          '          n: 20',
          '      - run: echo "a # b" >> \'c\'',
          '    ports:',
          '      - 5432:5432',
          '    options: >-',
          '      --one',
          '      --two',
        ].join('\n'),
      ),
    ).toEqual({
      on: ['push', 'pull_request'],
      jobs: {
        a: {
          steps: [{ uses: 'x@v4', with: { n: '20' } }, { run: `echo "a # b" >> 'c'` }],
          ports: ['5432:5432'],
          options: '--one --two',
        },
      },
    })
  })

  it('refuses what it does not read', () => {
    expect(() => parseYaml('a:\n  b: 1\n c: 2')).toThrow(/line 3/)
    expect(() => parseYaml('a: {b: 1}')).toThrow(/flow mappings/)
    expect(() => parseYaml('a: 1\na: 2')).toThrow(/duplicate key/)
  })
})

describe('README "GitHub Actions"', () => {
  const blocks = yamlBlocks(readme)

  it('has one workflow, in its section', () => {
    expect(blocks).toHaveLength(1)
    expect(yamlBlocks(section(readme, '### GitHub Actions'))).toEqual(blocks)
    expect(script.length).toBeGreaterThan(3)
  })

  it('runs exactly the Sharded CI script: run tag job first, shards from the matrix, the audit', () => {
    checkAgainstScript(workflow(blocks[0]!))
  })

  it('audits in each shard job, against a postgres service of that job, at a URL the guard accepts', () => {
    const wf = workflow(blocks[0]!)
    const { shardJob, auditJob } = checkAgainstScript(wf)
    // A service lives only as long as its job: the audit must run where the rows are.
    expect(auditJob).toBe(shardJob)
    const services = asMap(wf.jobs[shardJob]!.services, 'services')
    const [name, service] = Object.entries(services).find(([, s]) =>
      /^postgres(:|$)/.test(str(asMap(s, 'a service').image) ?? ''),
    )!
    expect(name).toBeDefined()
    const serviceEnv = asMap(asMap(service, name).env, `${name}.env`)
    const ports = asList(asMap(service, name).ports).map((p) => str(p))
    const env = envOf(wf, shardJob)
    const url = new URL(env.DATABASE_URL!)
    expect(url.protocol).toBe('postgres:')
    expect(['localhost', '127.0.0.1']).toContain(url.hostname)
    expect(ports).toContain(`${url.port}:5432`)
    expect(decodeURIComponent(url.username)).toBe(str(serviceEnv.POSTGRES_USER) ?? 'postgres')
    expect(decodeURIComponent(url.password)).toBe(str(serviceEnv.POSTGRES_PASSWORD))
    expect(url.pathname.slice(1)).toBe(str(serviceEnv.POSTGRES_DB))
    // The server sees the runner's connections on its container address: the guard must let that through.
    const verdict = checkTarget(
      { driver: 'postgres-js', database: url.pathname.slice(1), serverAddress: '172.18.0.2' },
      { env },
    )
    expect(verdict.ok, verdict.ok ? '' : verdict.error.message).toBe(true)
    expect(
      checkTarget({ driver: 'postgres-js', database: url.pathname.slice(1), serverAddress: '172.18.0.2' }, { env: {} })
        .ok,
    ).toBe(false)
  })
})

describe('docs/ci.md: one shared database', () => {
  const blocks = yamlBlocks(read('docs/ci.md'))

  it('runs exactly the Sharded CI script, with the audit in a final job after every shard', () => {
    expect(blocks).toHaveLength(1)
    const wf = workflow(blocks[0]!)
    const { tagJob, shardJob, auditJob } = checkAgainstScript(wf)
    expect(auditJob).not.toBe(shardJob)
    expect(Object.keys(wf.jobs).at(-1)).toBe(auditJob)
    expect(asList(wf.jobs[auditJob]!.needs)).toEqual(expect.arrayContaining([tagJob, shardJob]))
    // No service (it would die with its job): one URL, the same for the shards and the audit.
    for (const job of Object.keys(wf.jobs)) expect(wf.jobs[job]!.services, job).toBeUndefined()
    expect(envOf(wf, shardJob).DATABASE_URL).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/)
    expect(envOf(wf, auditJob).DATABASE_URL).toBe(envOf(wf, shardJob).DATABASE_URL)
    expect(envOf(wf, auditJob).LEAKLESS_ALLOW_REMOTE).toBe('1')
  })
})
