import { describe, expect, it, onTestFinished } from 'vitest'
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createRunTag } from '../../src/ids/index.js'
import { decodeId } from '../../src/index.js'
import { bundle } from '../support/bundle.js'
import { memoryTempDir } from '../support/temp-dir.js'
import { countDuplicateIds } from './fixtures/duplicate-ids.js'

const root = resolve(import.meta.dirname, '../..')
const PER_CONTEXT = 100_000

interface Child {
  name: string
  env: Record<string, string>
  /** Run contexts the child creates: 2 when it loads the package twice. */
  contexts: number
}

const child = (name: string, env: Record<string, string> = {}): Child => ({ name, env, contexts: 1 })

function runChild(script: string, c: Child, out: string, common: Record<string, string>): Promise<void> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [script], {
      cwd: root,
      env: { ...process.env, ...common, ...c.env, OUT: out },
      stdio: ['ignore', 'inherit', 'pipe'],
    })
    let stderr = ''
    proc.stderr.on('data', (chunk) => (stderr += chunk))
    proc.on('error', fail)
    proc.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${c.name} exited ${code}: ${stderr}`))))
  })
}

describe('ids across processes', () => {
  it('counts a repeated id however it is dressed (id, e-mail, slug)', () => {
    const ids = ['a-1-10', 'a-1-11', 'a-1-10@example.test', 'a-1-10.x', 'a-1-11.y', 'a-1-12']
    expect(countDuplicateIds(ids)).toBe(3)
    expect(countDuplicateIds(['a-1-10', 'a-1-100', 'a-1-10x'])).toBe(0)
  })

  it('never repeat across 16 processes on one LEAKLESS_RUN: shared worker indexes, restarts, pid clashes, a module loaded twice', async () => {
    const started = performance.now()
    const dir = memoryTempDir('leakless-multi-')
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    // The child and the package, each bundled into one file (as dist/ is): fast to start, and the
    // package can be imported a second time under another URL.
    const built = await bundle(
      { child: join(root, 'test/reliability/fixtures/issue-ids.ts'), leakless: join(root, 'src/index.ts') },
      join(dir, 'bundle'),
    )
    const runTag = createRunTag()
    // Each lane runs its children one after the other (a worker restarted once the previous one
    // exited); the lanes run at once.
    const lanes: Child[][] = [
      ...[0, 2, 3, 10].map((w) => [child(`worker ${w}`, { FORCE_WORKER: String(w) })]),
      // Worker 1 three times at once: forced, and as Vitest and Playwright report it.
      [child('worker 1', { FORCE_WORKER: '1' })],
      [child('vitest-like worker 1', { VITEST_POOL_ID: '1', VITEST_WORKER_ID: '7' })],
      [child('playwright-like worker 1', { TEST_WORKER_INDEX: '1' })],
      // Same worker index and the same pid in four live processes: only the claim separates them.
      ...[0, 1, 2].map((i) => [child(`clash ${i}`, { FORCE_WORKER: '5', FORCE_PID: '4242' })]),
      [
        {
          name: 'two copies',
          env: { FORCE_WORKER: '5', FORCE_PID: '4242', SECOND_COPY: '1' },
          contexts: 2,
        },
      ],
      // Worker 7 restarted twice (new pids), and worker 8 restarted with its pid reused.
      [0, 1, 2].map((i) => child(`worker 7 start ${i}`, { FORCE_WORKER: '7' })),
      [0, 1].map((i) => child(`worker 8 start ${i}`, { FORCE_WORKER: '8', FORCE_PID: '4343' })),
    ]
    const children = lanes.flat()
    const common: Record<string, string> = {
      LEAKLESS_RUN: runTag,
      LEAKLESS_STATE_DIR: join(dir, 'state'),
      LEAKLESS_MODULE: pathToFileURL(built.leakless).href,
      PER_CONTEXT: String(PER_CONTEXT),
    }
    for (const key of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'TEST_WORKER_INDEX', 'LEAKLESS_SHARD']) {
      common[key] = ''
    }
    const bundled = performance.now()
    const outs = new Map(children.map((c, i) => [c, join(dir, `ids-${i}.txt`)]))
    await Promise.all(
      lanes.map(async (lane) => {
        for (const c of lane) await runChild(built.child, c, outs.get(c)!, common)
      }),
    )

    const issued = performance.now()
    const all: string[] = []
    const prefixes = new Set<string>()
    const claims = new Map<string, Set<number>>()
    for (const c of children) {
      const ids = readFileSync(outs.get(c)!, 'utf8').split('\n')
      expect(ids.length, c.name).toBe(c.contexts * PER_CONTEXT)
      let current = '\0'
      for (const [i, value] of ids.entries()) {
        // Every id of a context starts with its process prefix: decode the first, and a sample of the rest.
        if (value.startsWith(current) && i % 997 !== 0) continue
        const decoded = decodeId(value)
        if (decoded === null || decoded.runTag !== runTag) throw new Error(`${c.name}: undecodable id ${value}`)
        current = decoded.processPrefix
        if (!prefixes.has(current)) {
          prefixes.add(current)
          const key = `w${decoded.worker}p${decoded.pid}`
          claims.set(key, (claims.get(key) ?? new Set()).add(decoded.reuse))
        }
      }
      for (const id of ids) all.push(id)
    }
    const total = all.length
    const duplicates = countDuplicateIds(all)
    const workers = new Map<number, number>()
    for (const prefix of prefixes) {
      const w = decodeId(`${prefix}0-10`)!.worker!
      workers.set(w, (workers.get(w) ?? 0) + 1)
    }
    const s = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`
    console.log(
      `${children.length} processes, ${prefixes.size} run contexts (per worker index: ${[...workers].map(([w, n]) => `w${w}×${n}`).join(' ')}), ${total} ids, ${duplicates} duplicates (bundle ${s(started, bundled)}, processes ${s(bundled, issued)}, check ${s(issued, performance.now())})`,
    )
    expect(children).toHaveLength(16)
    expect(total).toBe(17 * PER_CONTEXT)
    expect(prefixes.size).toBe(17)
    expect(duplicates).toBe(0)
    expect(Object.fromEntries(workers)).toEqual({ 0: 1, 1: 3, 2: 1, 3: 1, 5: 5, 7: 3, 8: 2, 10: 1 })
    // Unique by construction, not by the random nonce: the five contexts that share worker 5 and
    // pid 4242 hold five different claims, and so do the two starts of worker 8 with one pid.
    expect([...claims.get('w5p4242')!].sort()).toEqual([0, 1, 2, 3, 4])
    expect([...claims.get('w8p4343')!].sort()).toEqual([0, 1])
  })
})
