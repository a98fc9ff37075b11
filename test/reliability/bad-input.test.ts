/**
 * Bad input, fuzzed (fast-check): ids, labels, config, factory overrides, LEAKLESS_RUN and the other
 * variables a run reads, sweep and audit options (the command line: bad-input-cli.test.ts). Two
 * invariants everywhere: never an error without a LeaklessError code, and never a prefix that could
 * match foreign rows (every prefix passes assertOwnedPrefix and ends at a field boundary).
 * No database: options are checked before one is used, and a database that fails every call proves it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkConfig, formatDuration, loadConfig, parseDuration } from '../../src/config/index.js'
import type { Database } from '../../src/db/index.js'
import { encodeProcessField, encodeRunTagTime, encodeScope, RUN_TAG_PATTERN } from '../../src/ids/id-format.js'
import { createRunSync } from '../../src/run/index.js'
import {
  assertOwnedPrefix,
  audit,
  createRunTag,
  decodeId,
  defineFactory,
  isLeaklessError,
  MAX_LIST_SIZE,
  sweep,
} from '../../src/index.js'
import * as schema from '../../factories/schema.js'
import {
  anyText,
  configArb,
  EARLIEST,
  expectOwnedPrefix,
  expectSoundDecode,
  idArb,
  nearMiss,
  oddValue,
  outcome,
  processArb,
  runTagArb,
  settled,
} from './fixtures/bad-input.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-bad-input-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))
// Every run context of this file claims its own process slot: a pid of its own.
let nextPid = 1_000_000
const pid = () => nextPid++

const SUFFIXES = ['', '.parent@example.test', '-', '.', '0', 'a', '@x.test', '-10', '_', '%']

// ---------------------------------------------------------------------------------------------------

describe('bad input (fuzzed)', () => {
  it('decodeId never throws: null, or fields that encode back to the id, with owned prefixes', () => {
    fc.assert(
      fc.property(idArb, fc.constantFrom(...SUFFIXES), ({ id, runTag, process, scope, seq }, suffix) => {
        const d = decodeId(id + suffix)
        if (/^[0-9a-z]/.test(suffix)) {
          expect(d).toBeNull() // a letter or digit after the sequence: not an id that ends where it should
          return
        }
        expect(d).not.toBeNull()
        expect(d!.id).toBe(id)
        const long = process.number === null
        expect([d!.runTag, d!.shard, d!.process, d!.worker, d!.pid, d!.reuse, d!.nonce, d!.scope, d!.seq]).toEqual([
          runTag,
          process.shard,
          process.number,
          long ? process.worker : null,
          long ? process.pid : null,
          process.reuse,
          process.nonce,
          scope,
          seq,
        ])
        expectSoundDecode(id + suffix, d!)
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(
        fc.oneof(anyText, nearMiss(idArb.map((f) => f.id)), nearMiss(idArb.map((f) => `${f.id}.a@b.test`))),
        (value) => {
          const d = decodeId(value)
          if (d !== null) expectSoundDecode(value, d)
        },
      ),
      { numRuns: 10000 },
    )
    fc.assert(
      fc.property(oddValue, (value) => {
        expect(decodeId(value as string)).toBeNull()
      }),
      { numRuns: 300 },
    )
  })

  it('the prefixes of different processes and scopes never start one another', () => {
    fc.assert(
      fc.property(runTagArb, processArb, processArb, fc.nat(), fc.nat(), (runTag, a, b, sa, sb) => {
        const pa = `${runTag}-${encodeProcessField(a)}-`
        const pb = `${runTag}-${encodeProcessField(b)}-`
        for (const prefix of [pa, pb, `${pa}${encodeScope(sa)}-`, `${pb}${encodeScope(sb)}-`]) expectOwnedPrefix(prefix)
        if (pa !== pb) expect(pa.startsWith(pb) || pb.startsWith(pa)).toBe(false)
        if (sa !== sb) {
          const [x, y] = [`${pa}${encodeScope(sa)}-`, `${pa}${encodeScope(sb)}-`]
          expect(x.startsWith(y) || y.startsWith(x)).toBe(false)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('assertOwnedPrefix accepts only a full run tag and fields ending at a "-"; anything else is PREFIX_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(oddValue, anyText, nearMiss(idArb.map((f) => decodeId(f.id)!.scopePrefix))), (value) => {
        const result = outcome(() => assertOwnedPrefix(value as string))
        if (result.ok) expect(result.value).toMatch(/^[0-9a-z]{14}-([0-9a-z-]*-)?$/)
        else expect(result.code).toBe('PREFIX_INVALID')
      }),
      { numRuns: 5000 },
    )
  })

  it('labels and e-mail domains: a value in the scope prefix, or LABEL_INVALID / LABEL_TOO_LONG / DOMAIN_INVALID', () => {
    const run = createRunSync({
      stateDir,
      env: {},
      runTag: createRunTag(),
      pid: pid(),
      worker: 9_999_999_999,
      shard: 9999,
    })
    const scope = run.scope('labels')
    const withLabels = defineFactory(
      schema.users,
      (f) => {
        const label = f.transient.label as string
        return { id: f.id(label), email: f.email(label), name: f.slug(label) }
      },
      { transient: { label: 'x' as unknown } },
    )
    const label = fc.oneof(
      anyText,
      oddValue,
      fc.string({ unit: 'grapheme', maxLength: 70 }),
      fc.constantFrom('Über Admin', 'ß', 'a'.repeat(40), 'My First Post!'),
    )
    const domain = fc.oneof(
      anyText,
      oddValue,
      fc.domain(),
      fc.domain().map((d) => d.toUpperCase()),
    )
    const checkLabelled = (value: string, local: RegExp) => {
      expect(value.startsWith(scope.prefix)).toBe(true)
      expect(decodeId(value)!.scopePrefix).toBe(scope.prefix)
      expect(value.split('@')[0]).toMatch(local)
      expect(value.split('@')[0]!.length).toBeLessThanOrEqual(64)
    }
    fc.assert(
      fc.property(label, domain, (l, d) => {
        const labelCodes = ['LABEL_INVALID', 'LABEL_TOO_LONG']
        for (const [kind, local] of [
          ['id', /^[0-9a-z-]+(\.[0-9a-z]+)?$/],
          ['email', /^[0-9a-z-]+(\.[0-9a-z]+)?$/],
          ['slug', /^[0-9a-z-]+(\.[0-9a-z]+(-[0-9a-z]+)*)?$/],
        ] as const) {
          const result = outcome(() => scope[kind](l as string))
          if (result.ok) checkLabelled(result.value, local)
          else expect(labelCodes).toContain(result.code)
        }
        const email = outcome(() => scope.email('user', d as string))
        if (email.ok) {
          checkLabelled(email.value, /^[0-9a-z-]+\.user$/)
          expect(email.value.split('@')[1]).toBe(d === undefined ? 'example.test' : (d as string).toLowerCase())
        } else expect(email.code).toBe('DOMAIN_INVALID')
        const built = outcome(() => withLabels.bindTo(scope).build({ label: l }))
        if (built.ok)
          for (const value of [built.value.id, built.value.email, built.value.name])
            checkLabelled(value, /^[0-9a-z.-]+$/)
        else expect(labelCodes).toContain(built.code)
      }),
      { numRuns: 4000 },
    )
  })

  describe('config', () => {
    let cwd = ''
    beforeAll(() => {
      cwd = mkdtempSync(join(tmpdir(), 'leakless-bad-config-'))
      mkdirSync(join(cwd, 'project'))
      writeFileSync(join(cwd, 'project', 'package.json'), '{}') // no leakless.config.* from here up
    })
    afterAll(() => rmSync(cwd, { recursive: true, force: true }))

    it('checkConfig and loadConfig({ overrides }): a configuration, or CONFIG_INVALID', async () => {
      await fc.assert(
        fc.asyncProperty(configArb, async (value) => {
          const checked = outcome(() => checkConfig(value, null))
          if (checked.ok) expect(checked.value).toBe(value)
          else expect(checked.code).toBe('CONFIG_INVALID')
          const loaded = await settled(() =>
            loadConfig({ cwd: join(cwd, 'project'), env: {}, overrides: value as never }),
          )
          expect(loaded.ok).toBe(checked.ok || value === undefined) // undefined overrides: none
          if (!loaded.ok) expect(loaded.code).toBe('CONFIG_INVALID')
        }),
        { numRuns: 2000 },
      )
    })

    it('durations: milliseconds that print back to themselves, or null; never a throw', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            anyText,
            fc.tuple(fc.nat(), fc.constantFrom('s', 'm', 'h', 'd', 'ms', '')).map(([n, u]) => `${n}${u}`),
          ),
          (value) => {
            const ms = parseDuration(value)
            if (ms === null) return
            expect(Number.isSafeInteger(ms) && ms >= 0).toBe(true)
            expect(parseDuration(formatDuration(ms))).toBe(ms)
          },
        ),
        { numRuns: 2000 },
      )
    })
  })

  it('factory overrides, traits and list sizes: rows, or a FactoryError with a code, before any row is built', async () => {
    const run = createRunSync({ stateDir, env: {}, runTag: createRunTag(), pid: pid() })
    let defaults = 0
    const users = defineFactory(schema.users, (f) => {
      defaults++
      return { id: f.id(), email: f.email('user'), name: f.faker.person.fullName() }
    }).traits({ admin: { role: 'admin' } })
    const columns = ['id', 'email', 'name', 'role', 'createdAt']
    const overrides = fc.oneof(
      oddValue,
      fc.dictionary(fc.oneof(fc.constantFrom(...columns), anyText), oddValue, { maxKeys: 3 }),
    )
    const count = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(MAX_LIST_SIZE + 1, 1e7, 2 ** 53, NaN, Infinity, -Infinity, 1.5, -0),
      oddValue,
    )
    await fc.assert(
      fc.asyncProperty(overrides, count, fc.oneof(fc.constant('admin'), oddValue), async (o, n, trait) => {
        const scope = run.scope('overrides')
        const bound = users.bindTo(scope)
        const built = outcome(() => bound.build(o as never))
        if (built.ok) {
          const given = typeof o === 'object' && o !== null && Object.hasOwn(o, 'id')
          expect(given || built.value.id.startsWith(scope.prefix)).toBe(true)
        } else expect(['UNKNOWN_COLUMN', 'OPTION_INVALID']).toContain(built.code)

        const before = defaults
        const whole = Number.isSafeInteger(n) && (n as number) >= 0
        const refusal = !whole ? 'INVALID_COUNT' : (n as number) > MAX_LIST_SIZE ? 'LIST_TOO_LARGE' : null
        const listed = outcome(() => bound.buildList(n as number))
        if (refusal === null)
          expect(listed.ok && listed.value.length).toBe((n as number) + 0) // -0 is 0 rows
        else expect(listed).toEqual({ ok: false, code: refusal })
        const created = await settled(() => bound.createList(n as number))
        // this run has no database: the count is checked first
        expect(created).toEqual({ ok: false, code: refusal ?? 'FACTORY_NOT_BOUND' })
        if (refusal !== null) expect(defaults).toBe(before)
        const traitResult = outcome(() => users.trait(trait as never))
        if (!traitResult.ok) expect(traitResult.code).toBe('UNKNOWN_TRAIT')
        else expect(trait).toBe('admin')
      }),
      { numRuns: 1500 },
    )
  })

  it('LEAKLESS_RUN and the other variables a run reads: a run whose prefixes are owned, or a ConfigError', () => {
    const now = Date.now()
    const tag = fc.oneof(
      runTagArb,
      nearMiss(fc.constant(createRunTag())),
      anyText,
      fc.constantFrom(
        '',
        createRunTag().toUpperCase(),
        ` ${createRunTag()}`,
        `${createRunTag()}\n`,
        createRunTag().slice(0, 13),
        `${createRunTag()}0`,
        `${createRunTag()}-`,
        encodeRunTagTime(now + 2 * 86_400_000) + 'abcdef', // the future
        encodeRunTagTime(EARLIEST - 1) + 'abcdef', // before 2020
        '00000000000000',
        'zzzzzzzzzzzzzz',
      ),
    )
    const index = fc.option(
      fc.oneof(anyText, fc.nat().map(String), fc.constantFrom('-1', '1.5', ' 3 ', '99999999999', '0x10', '1e3')),
      { nil: undefined },
    )
    const shard = fc.option(fc.oneof(anyText, fc.constantFrom('1', '2/4', '5/4', '0', '0/0', ' 2 / 4 ', '3/')), {
      nil: undefined,
    })
    fc.assert(
      fc.property(tag, index, index, shard, index, (LEAKLESS_RUN, worker, pool, LEAKLESS_SHARD, LEAKLESS_SEED) => {
        const env = Object.fromEntries(
          Object.entries({
            LEAKLESS_RUN,
            TEST_WORKER_INDEX: worker,
            VITEST_POOL_ID: pool,
            LEAKLESS_SHARD,
            LEAKLESS_SEED,
          }).filter(([, v]) => v !== undefined),
        )
        const result = outcome(() => createRunSync({ stateDir, env, pid: pid() }))
        if (!result.ok) {
          expect(['RUN_TAG_INVALID', 'WORKER_INDEX_INVALID', 'SHARD_INVALID', 'SEED_INVALID']).toContain(result.code)
          return
        }
        const run = result.value
        expect(run.runTag).toMatch(RUN_TAG_PATTERN)
        if (LEAKLESS_RUN !== '') expect(run.runTag).toBe(LEAKLESS_RUN)
        const scope = run.scope('t')
        for (const prefix of [run.runPrefix, run.prefix, scope.prefix, run.outside.prefix]) expectOwnedPrefix(prefix)
        const d = decodeId(scope.email('parent'))!
        expect([d.runTag, d.worker, d.shard, d.scopePrefix]).toEqual([run.runTag, run.worker, run.shard, scope.prefix])
      }),
      { numRuns: 1500 },
    )
  })

  describe('sweep and audit options', () => {
    const used = new Error('the database was used')
    // Options are checked before the database is used: a database that fails every call proves it.
    const noDatabase = new Proxy({} as Database, {
      get(_, key) {
        if (key === 'then') return undefined
        throw used
      },
    })
    const runTag = fc.option(fc.oneof(runTagArb, anyText, oddValue), { nil: undefined })

    it('sweep: OPTION_INVALID / RUN_TAG_INVALID, or valid options reach the database', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              olderThanMs: fc.oneof(fc.nat(), fc.constantFrom(-1, NaN, Infinity), oddValue),
              runTag,
              exceptRunTag: runTag,
              shard: fc.oneof(fc.constant(null), fc.integer({ min: -1, max: 5 }), oddValue),
              schemas: fc.oneof(fc.constant(['public']), fc.array(anyText, { maxLength: 2 }), oddValue),
              now: fc.oneof(fc.date(), fc.constant(new Date(NaN)), oddValue),
            },
            { requiredKeys: [] },
          ),
          async (options) => {
            try {
              await sweep({ db: noDatabase, ...(options as object) })
              expect.unreachable()
            } catch (error) {
              // A failure once the database is in use comes wrapped (CLEANUP_FAILED, the cause kept).
              if (error === used || (isLeaklessError(error) && error.cause === used)) {
                for (const tag of [options.runTag, options.exceptRunTag])
                  if (tag !== undefined) expect(tag).toMatch(RUN_TAG_PATTERN)
                return
              }
              if (!isLeaklessError(error)) throw error
              expect(['OPTION_INVALID', 'RUN_TAG_INVALID']).toContain(error.code)
            }
          },
        ),
        { numRuns: 1500 },
      )
    })

    it('audit: PREFIX_INVALID, or an owned prefix reaches the database', async () => {
      const prefix = fc.option(
        fc.oneof(
          anyText,
          oddValue,
          idArb.map((f) => decodeId(f.id)!.scopePrefix),
          nearMiss(idArb.map((f) => decodeId(f.id)!.processPrefix)),
        ),
        { nil: undefined },
      )
      await fc.assert(
        fc.asyncProperty(prefix, runTag, async (p, tag) => {
          try {
            await audit({
              db: noDatabase,
              ...(p === undefined ? {} : { prefix: p as string }),
              ...(tag === undefined ? {} : { runTag: tag as string }),
            })
            expect.unreachable()
          } catch (error) {
            if (error === used) {
              expectOwnedPrefix((p as string | undefined) ?? `${tag as string}-`)
              return
            }
            if (!isLeaklessError(error)) throw error
            expect(error.code).toBe('PREFIX_INVALID')
          }
        }),
        { numRuns: 2000 },
      )
    })
  })
})
