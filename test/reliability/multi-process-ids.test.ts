import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRunTag } from '../../src/ids/index.js'
import { decodeId } from '../../src/index.js'

const root = resolve(import.meta.dirname, '../..')
const SCOPES = 12
const PER_SCOPE = 9_000 // (12 scopes + 1 outside) × 9 000 = 117 000 ids per copy of the module

interface Child {
  name: string
  env: Record<string, string>
}

function runChild(child: Child, out: string, common: Record<string, string>): Promise<void> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/reliability/fixtures/issue-ids.ts')], {
      cwd: root,
      env: { ...process.env, ...common, ...child.env, OUT: out },
      stdio: ['ignore', 'inherit', 'pipe'],
    })
    let stderr = ''
    proc.stderr.on('data', (chunk) => (stderr += chunk))
    proc.on('error', fail)
    proc.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${child.name} exited ${code}: ${stderr}`))))
  })
}

describe('ids across processes', () => {
  it('never repeat across 10 concurrent processes sharing LEAKLESS_RUN, forced worker/pid clashes and a module loaded twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakless-multi-'))
    const copy = join(root, 'node_modules/.cache/leakless-test-copy')
    rmSync(copy, { recursive: true, force: true })
    cpSync(join(root, 'src'), join(copy, 'src'), { recursive: true })
    const runTag = createRunTag()
    const children: Child[] = [
      ...[0, 1, 2, 3].map((w) => ({ name: `worker ${w}`, env: { FORCE_WORKER: String(w) } })),
      // Same worker index and the same pid in four live processes: only the claim separates them.
      ...[0, 1, 2].map((i) => ({ name: `clash ${i}`, env: { FORCE_WORKER: '5', FORCE_PID: '4242' } })),
      { name: 'two copies', env: { FORCE_WORKER: '5', FORCE_PID: '4242', SECOND_COPY: join(copy, 'src/index.ts') } },
      { name: 'vitest-like', env: { VITEST_POOL_ID: '1', VITEST_WORKER_ID: '1' } },
      { name: 'playwright-like', env: { TEST_WORKER_INDEX: '1' } },
    ]
    const common = {
      LEAKLESS_RUN: runTag,
      LEAKLESS_STATE_DIR: join(dir, 'state'),
      SCOPES: String(SCOPES),
      PER_SCOPE: String(PER_SCOPE),
    }
    for (const key of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'TEST_WORKER_INDEX', 'LEAKLESS_SHARD']) {
      common[key as keyof typeof common] = ''
    }
    const outs = children.map((_, i) => join(dir, `ids-${i}.txt`))
    await Promise.all(children.map((child, i) => runChild(child, outs[i]!, common)))

    const seen = new Set<string>()
    const prefixes = new Set<string>()
    const claims = new Map<string, Set<number>>()
    let total = 0
    for (const [i, out] of outs.entries()) {
      const ids = readFileSync(out, 'utf8').split('\n')
      const copies = children[i]!.env.SECOND_COPY ? 2 : 1
      expect(ids.length, children[i]!.name).toBe(copies * (SCOPES + 1) * PER_SCOPE)
      for (const value of ids) {
        const decoded = decodeId(value)
        if (decoded === null || decoded.runTag !== runTag) throw new Error(`undecodable id ${value}`)
        seen.add(decoded.id)
        if (!prefixes.has(decoded.processPrefix)) {
          prefixes.add(decoded.processPrefix)
          const key = `s${decoded.shard}w${decoded.worker}p${decoded.pid}`
          claims.set(key, (claims.get(key) ?? new Set()).add(decoded.reuse))
        }
      }
      total += ids.length
    }
    console.log(
      `${children.length} processes, ${prefixes.size} run contexts, ${total} ids, ${total - seen.size} duplicates`,
    )
    expect(total).toBeGreaterThanOrEqual(800_000)
    expect(prefixes.size).toBe(children.length + 1)
    expect(seen.size).toBe(total)
    // Unique by construction, not by the random nonce: the five contexts that share worker 5 and
    // pid 4242 hold five different claims.
    expect([...claims.get('snullw5p4242')!].sort()).toEqual([0, 1, 2, 3, 4])
    rmSync(dir, { recursive: true, force: true })
  })
})
