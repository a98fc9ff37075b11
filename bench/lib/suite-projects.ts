/**
 * The Vitest projects of the `suite` benchmark, written as text: the same tests (a small booking graph —
 * 2 users, 2 sessions, 3 bookings —, 2 activity rows the "app" writes by raw SQL, 3 reads) under each way
 * of keeping tests apart. Only `fixtures.ts` and how a spec makes its graph differ between strategies.
 * They live in a folder laid out as a user's repository: leakless installed in `node_modules` (a copy of
 * the built package, which Vitest loads as a dependency, not as source), the reference factories and
 * schema as the user's own files beside the projects.
 */
import { randomBytes } from 'node:crypto'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { repoRoot } from '../../test/adapters/harness.js'

const schemaPath = JSON.stringify('../factories/schema.ts')
const factoriesPath = JSON.stringify('../factories/index.ts')
const migrationsPath = JSON.stringify(join(repoRoot, 'factories/migrations'))

/** A fresh folder inside the repository (its dependencies resolve from the repository's node_modules): returns its path. */
export function writeBenchRoot(): string {
  const root = join(repoRoot, '.scratch', `bench-suite-${randomBytes(3).toString('hex')}`)
  // A package of its own: 'leakless' resolves to node_modules, not to the repository by self-reference.
  mkdirSync(root, { recursive: true })
  writeFileSync(
    join(root, 'package.json'),
    `${JSON.stringify({ name: 'suite-bench', private: true, type: 'module' })}\n`,
  )
  const installed = join(root, 'node_modules', 'leakless')
  cpSync(join(repoRoot, 'dist'), join(installed, 'dist'), { recursive: true })
  cpSync(join(repoRoot, 'package.json'), join(installed, 'package.json'))
  cpSync(join(repoRoot, 'factories'), join(root, 'factories'), { recursive: true })
  return root
}

export function removeBenchRoot(root: string): void {
  rmSync(root, { recursive: true, force: true })
}

/** Writes a project's files into `root/name`; returns its path. */
export function writeProjectIn(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/** How a strategy's tests get their graph and their `db`. */
export type ProjectKind =
  | {
      kind: 'leakless'
      config: Record<string, string>
      /** Profiles only: V8's plain stack traces, not Vitest's source-mapped ones. */ plainStacks?: boolean
    }
  | { kind: 'rollback' | 'truncate' | 'template' | 'none' }

export const TESTS_PER_FILE = 20

/** `vitest.config.ts`: forks, one process per file (Vitest's default), `workers` at once. */
function vitestConfig(workers: number, leakless: boolean): string {
  return `import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: ${workers},
    isolate: true,
    include: ['**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
${leakless ? `    globalSetup: ['leakless/vitest/global-setup'],\n` : ''}  },
})
`
}

/** What the app under test does in every test: writes 2 activity rows of its own, then reads 3 times. */
const appFile = `import { sql } from 'drizzle-orm'
import { expect } from 'vitest'

export async function appWritesAndReads(db: any, parentId: string, instructorId: string) {
  await db.execute(sql\`insert into activity (user_id, action) values (\${parentId}, 'booked'), (\${instructorId}, 'confirmed')\`)
  const booked = await db.execute(
    sql\`select b.id, u.email from bookings b join users u on u.id = b.instructor_id where b.parent_id = \${parentId}\`,
  )
  expect(booked.length).toBe(3)
  const [sessions] = await db.execute(sql\`select count(*)::int as n from sessions where user_id = \${parentId}\`)
  expect(sessions.n).toBe(2)
  const actions = await db.execute(sql\`select action from activity where user_id in (\${parentId}, \${instructorId}) order by id\`)
  expect(actions.map((a: { action: string }) => a.action)).toEqual(['booked', 'confirmed'])
}
`

/** Hand-written data: one connection per file (asynchronous commit, as leakless's), the graph in 3 inserts. */
const handFile = `import { randomUUID } from 'node:crypto'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { bookings, sessions, users } from ${schemaPath}

const HOUR = 60 * 60 * 1000
const slot = Math.ceil((Date.now() + 7 * 24 * HOUR) / HOUR) * HOUR

export function connectFile(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { synchronous_commit: 'off' } })
  return { sql, db: drizzle(sql), end: () => sql.end({ timeout: 5 }) }
}

export async function handGraph(db: any) {
  const parentId = randomUUID()
  const instructorId = randomUUID()
  await db.insert(users).values([
    { id: parentId, email: \`\${parentId}@example.test\`, name: 'Pat Parent', role: 'parent' },
    { id: instructorId, email: \`\${instructorId}@example.test\`, name: 'Ivy Instructor', role: 'instructor' },
  ])
  const expiresAt = new Date(Date.now() + 24 * HOUR)
  await db.insert(sessions).values([
    { id: randomUUID(), userId: parentId, token: randomUUID(), expiresAt },
    { id: randomUUID(), userId: parentId, token: randomUUID(), expiresAt },
  ])
  await db.insert(bookings).values(
    [0, 1, 2].map((k) => ({
      id: randomUUID(),
      parentId,
      instructorId,
      scheduledAt: new Date(slot + k * HOUR),
      status: 'pending' as const,
      amountCents: 4000 + k * 100,
    })),
  )
  return { parentId, instructorId }
}
`

const leaklessFixtures = (
  config: Record<string, string>,
  plainStacks = false,
) => `import { leaklessTest } from 'leakless/vitest'
import { bookings, sessions, users } from ${factoriesPath}

export const test = leaklessTest({ factories: { users, sessions, bookings }, config: ${JSON.stringify(config)} })
${plainStacks ? `test.beforeEach(() => {\n  Error.prepareStackTrace = undefined\n})\n` : ''}`

/** The file's connection (file scope) and the per-test \`db\` around which each strategy does its part. */
function handFixtures(kind: 'rollback' | 'truncate' | 'template' | 'none'): string {
  const open =
    kind === 'template'
      ? `const admin = postgres(process.env.BENCH_ADMIN_URL!, { max: 1, onnotice: () => {} })
      const name = \`\${process.env.BENCH_DATABASE_PREFIX}f\${randomBytes(4).toString('hex')}\`
      await admin.unsafe(\`create database "\${name}" template "\${process.env.BENCH_TEMPLATE}"\`)
      const url = new URL(process.env.BENCH_ADMIN_URL!)
      url.pathname = \`/\${name}\`
      const file = connectFile(url.toString())
      await use(file)
      await file.end()
      await admin.unsafe(\`drop database "\${name}"\`)
      await admin.end({ timeout: 5 })`
      : `const file = connectFile(process.env.BENCH_URL!)
      await use(file)
      await file.end()`
  const perTest = {
    rollback: `await file.sql\`begin\`
    await use(file.db)
    await file.sql\`rollback\``,
    truncate: `await use(file.db)
    await file.sql\`truncate activity, bookings, sessions, users\``,
    template: `await use(file.db)`,
    none: `await use(file.db)`,
  }[kind]
  return `${kind === 'template' ? `import { randomBytes } from 'node:crypto'\nimport postgres from 'postgres'\n` : ''}import { test as base } from 'vitest'
import { connectFile } from './hand.js'

type File = ReturnType<typeof connectFile>

export const test = base.extend<{ db: any; file: File }>({
  file: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      ${open}
    },
    { scope: 'file' },
  ],
  db: async ({ file }, use) => {
    ${perTest}
  },
})
`
}

/**
 * A spec of {@link TESTS_PER_FILE} tests; each makes its graph, then lets the app write and read. `timed`
 * (profiles): each test prints `PHASES <graph ms> <app ms>` to stderr.
 */
function spec(file: string, leakless: boolean, timed: boolean): string {
  const graph = leakless
    ? `const [parent, instructor] = await factories.users.createList(2)
    await factories.sessions.createList(2, { userId: parent.id })
    await factories.bookings.createList(3, { parentId: parent.id, instructorId: instructor.id })
    await appWritesAndReads(db, parent.id, instructor.id)`
    : `const { parentId, instructorId } = await handGraph(db)
    await appWritesAndReads(db, parentId, instructorId)`
  const [start, end] = timed
    ? [
        'const t0 = performance.now()\n    ',
        '\n    process.stderr.write(`PHASES ${t1 - t0} ${performance.now() - t1}\\n`)',
      ]
    : ['', '']
  const body = timed
    ? `${graph.replace('\n    await appWritesAndReads', '\n    const t1 = performance.now()\n    await appWritesAndReads')}`
    : graph
  return `import { appWritesAndReads } from './app.js'
${leakless ? '' : `import { handGraph } from './hand.js'\n`}import { test } from './fixtures.js'

for (let i = 1; i <= ${TESTS_PER_FILE}; i++) {
  test(\`${file} books lesson \${i}\`, async ({ ${leakless ? 'factories, db' : 'db'} }) => {
    ${start}${body}${end}
  })
}
`
}

/** Every file of a project of `files` spec files. */
export function suiteProject(
  project: ProjectKind,
  files: number,
  workers: number,
  timed = false,
): Record<string, string> {
  const leakless = project.kind === 'leakless'
  const out: Record<string, string> = {
    'vitest.config.ts': vitestConfig(workers, leakless),
    'app.ts': appFile,
    'fixtures.ts':
      project.kind === 'leakless' ? leaklessFixtures(project.config, project.plainStacks) : handFixtures(project.kind),
  }
  if (leakless) {
    out['leakless.config.ts'] =
      `import { defineConfig } from 'leakless'\n\nexport default defineConfig({ migrations: ${migrationsPath} })\n`
  } else {
    out['hand.ts'] = handFile
  }
  for (let f = 1; f <= files; f++) {
    const name = `f${String(f).padStart(2, '0')}`
    out[`${name}.test.ts`] = spec(name, leakless, timed)
  }
  return out
}
