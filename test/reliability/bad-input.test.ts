/**
 * Bad input, fuzzed (fast-check): ids, labels, config, factory overrides, LEAKLESS_RUN and the other
 * variables a run reads, sweep and audit options, and the CLI's command line. Two invariants everywhere:
 * never an error without a LeaklessError code (the CLI: exit 2 with one line), and never a prefix that
 * could match foreign rows (every prefix passes assertOwnedPrefix and ends at a field boundary).
 * No database: options are checked before one is used, and a database that fails every call proves it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCommandLine } from '../../src/cli/command-line.js'
import { CliExit } from '../../src/cli/exit.js'
import { buildProgram, runCli } from '../../src/cli/program.js'
import { checkConfig, formatDuration, loadConfig, parseDuration } from '../../src/config/index.js'
import type { Database } from '../../src/db/index.js'
import {
  encodeProcessField,
  encodeRunTagTime,
  encodeScope,
  encodeSeq,
  RUN_TAG_LENGTH,
  RUN_TAG_PATTERN,
  type ProcessFields,
} from '../../src/ids/id-format.js'
import { createRunSync } from '../../src/run/index.js'
import {
  assertOwnedPrefix,
  audit,
  createRunTag,
  decodeId,
  defineFactory,
  isLeaklessError,
  likePrefix,
  MAX_LIST_SIZE,
  sweep,
  type DecodedId,
} from '../../src/index.js'
import * as schema from '../../factories/schema.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-bad-input-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))
// Every run context of this file claims its own process slot: a pid of its own.
let nextPid = 1_000_000
const pid = () => nextPid++

// ---------------------------------------------------------------------------------------------------
// Invariants

/** Runs `fn`: its result, or the code of the LeaklessError it threw; any other error fails the test. */
function outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; code: string } {
  try {
    return { ok: true, value: fn() }
  } catch (error) {
    if (!isLeaklessError(error)) throw new Error(`not a LeaklessError: ${String(error)}`, { cause: error })
    expect(error.message.length).toBeGreaterThan(20)
    return { ok: false, code: error.code }
  }
}

async function settled<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    if (!isLeaklessError(error)) throw new Error(`not a LeaklessError: ${String(error)}`, { cause: error })
    return { ok: false, code: error.code }
  }
}

/** A prefix that can only match rows of its owner: a full run tag, then fields, ending at a "-". */
function expectOwnedPrefix(prefix: string): void {
  expect(assertOwnedPrefix(prefix)).toBe(prefix)
  expect(prefix.length).toBeGreaterThan(RUN_TAG_LENGTH)
  expect(prefix.endsWith('-')).toBe(true)
  expect(likePrefix(prefix)).toBe(`${prefix}%`) // no LIKE wildcard to escape
}

/** The id a decoded id's fields encode to: what `decodeId` read must be what was written. */
function reencode(d: DecodedId): string {
  const field = encodeProcessField({ shard: d.shard, worker: d.worker, pid: d.pid, reuse: d.reuse, nonce: d.nonce })
  return `${d.runTag}-${field}-${encodeScope(d.scope)}-${encodeSeq(d.seq)}`
}

function expectSoundDecode(value: string, d: DecodedId): void {
  expect(value.startsWith(d.id)).toBe(true)
  expect(reencode(d)).toBe(d.id)
  expect(/[0-9a-z]/.test(value.charAt(d.id.length))).toBe(false) // the id ends at a boundary
  for (const prefix of [d.runPrefix, d.processPrefix, d.scopePrefix]) expectOwnedPrefix(prefix)
  expect(d.processPrefix.startsWith(d.runPrefix) && d.scopePrefix.startsWith(d.processPrefix)).toBe(true)
  expect(d.id.startsWith(d.scopePrefix)).toBe(true)
  expect(decodeId(d.id)).toEqual(d)
}

// ---------------------------------------------------------------------------------------------------
// Generators

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz'
const base36 = (length: number) => fc.string({ unit: fc.constantFrom(...BASE36), minLength: length, maxLength: length })
const EARLIEST = Date.UTC(2020, 0, 1)

/** Values that break String(), `${}`, JSON.stringify or a RegExp test, and every other kind of value. */
const circular: Record<string, unknown> = {}
circular.self = circular
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  }),
  fc.constantFrom<unknown>(Symbol('odd'), circular, Object.create(null), () => 'label', {
    toString() {
      throw new Error('no string')
    },
    toJSON() {
      throw new Error('no JSON')
    },
  }),
)
const text = fc.string({ unit: 'binary', maxLength: 40 })
const anyText = fc.oneof(text, fc.string({ maxLength: 40 }), fc.constantFrom('', ' ', '\u0000', '%', '_', '\\', '-'))

const processArb: fc.Arbitrary<ProcessFields> = fc.record({
  shard: fc.option(fc.integer({ min: 0, max: 9_999_999_999 }), { nil: null }),
  worker: fc.integer({ min: 0, max: 9_999_999_999 }),
  pid: fc.integer({ min: 0, max: 9_999_999_999 }),
  reuse: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999_999 })),
  nonce: base36(6),
})
const runTagArb = fc
  .tuple(fc.integer({ min: EARLIEST, max: 36 ** 8 - 1 }), base36(6))
  .map(([time, random]) => encodeRunTagTime(time) + random)
/** A well-formed id and the fields it was made from. */
const idArb = fc
  .record({
    runTag: runTagArb,
    process: processArb,
    scope: fc.integer({ min: 0, max: 36 ** 10 - 1 }),
    seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  })
  .map((f) => ({
    ...f,
    id: `${f.runTag}-${encodeProcessField(f.process)}-${encodeScope(f.scope)}-${encodeSeq(f.seq)}`,
  }))

/** A string close to a well-formed one: one character inserted, deleted, replaced or upper-cased, or cut. */
const nearMiss = (valid: fc.Arbitrary<string>) =>
  fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom('insert', 'delete', 'replace', 'upper', 'cut'),
      fc.string({ minLength: 1, maxLength: 1 }),
    )
    .map(([value, n, how, char]) => {
      const i = n % (value.length + 1)
      if (how === 'insert') return value.slice(0, i) + char + value.slice(i)
      if (how === 'delete') return value.slice(0, i) + value.slice(i + 1)
      if (how === 'replace') return value.slice(0, i) + char + value.slice(i + 1)
      if (how === 'upper') return value.slice(0, i) + value.charAt(i).toUpperCase() + value.slice(i + 1)
      return value.slice(0, i)
    })
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
        expect([d!.runTag, d!.shard, d!.worker, d!.pid, d!.reuse, d!.nonce, d!.scope, d!.seq]).toEqual([
          runTag,
          process.shard,
          process.worker,
          process.pid,
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
    const KEYS = [
      'databaseUrl',
      'embedded',
      'migrations',
      'emailDomain',
      'tagColumns',
      'nullableDependents',
      'schemas',
      'onLeak',
      'sweep',
      'allow',
    ]
    const shaped = fc.oneof(
      oddValue,
      fc.dictionary(fc.constantFrom(...KEYS, 'bogus', '__proto__'), oddValue, { maxKeys: 4 }),
      fc.record(
        {
          databaseUrl: fc.oneof(fc.constant('postgres://u@h/db_test'), anyText),
          embedded: fc.oneof(
            fc.constant(false),
            fc.record({ dataDir: oddValue, database: oddValue }, { requiredKeys: [] }),
            oddValue,
          ),
          migrations: fc.oneof(fc.constant('./drizzle'), anyText),
          emailDomain: fc.oneof(fc.constant('school.test'), anyText),
          tagColumns: fc.oneof(fc.dictionary(anyText, fc.array(anyText)), oddValue),
          nullableDependents: fc.oneof(
            fc.dictionary(anyText, fc.constantFrom('fail', 'detach', 'delete', 'x')),
            oddValue,
          ),
          schemas: fc.oneof(fc.array(anyText), oddValue),
          onLeak: fc.oneof(fc.constantFrom('fail', 'warn'), oddValue),
          sweep: fc.oneof(
            fc.constant(false),
            fc.record({ olderThan: fc.oneof(anyText, fc.constantFrom('1h', '0', '-1h')) }),
            oddValue,
          ),
          allow: fc.oneof(
            fc.record(
              { production: oddValue, remote: fc.boolean(), databases: fc.array(anyText) },
              { requiredKeys: [] },
            ),
            oddValue,
          ),
        },
        { requiredKeys: [] },
      ),
    )
    let cwd = ''
    beforeAll(() => {
      cwd = mkdtempSync(join(tmpdir(), 'leakless-bad-config-'))
      mkdirSync(join(cwd, 'project'))
      writeFileSync(join(cwd, 'project', 'package.json'), '{}') // no leakless.config.* from here up
    })
    afterAll(() => rmSync(cwd, { recursive: true, force: true }))

    it('checkConfig and loadConfig({ overrides }): a configuration, or CONFIG_INVALID', async () => {
      await fc.assert(
        fc.asyncProperty(shaped, async (value) => {
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
              if (error === used) {
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

  describe('the command line', () => {
    const TAG = createRunTag()
    const word = fc.oneof(
      fc.constantFrom(
        'decode',
        'audit',
        'sweep',
        'registry',
        'db',
        'start',
        'stop',
        'url',
        'serve',
        '--json',
        '--deep',
        '--dry-run',
        '--scan',
        '--drop',
        '--run',
        '--prefix',
        '--schema',
        '--config',
        '--older-than',
        '--data-dir',
        '--help',
        '-h',
        '--version',
        '-v',
        '--',
        '-',
        '-1h',
        '-x',
        '--no-dry-run',
        '--dry-run=true',
        '--dry-run=',
        '--older-than=-1h',
        '--run=',
        '1h',
        '0',
        '2d',
        '-2h',
        '007',
        '1e3',
        TAG,
        `${TAG}-`,
        `${TAG}-w1p2x000000-`,
        'public',
        '',
      ),
      anyText,
      fc
        .tuple(
          fc.constantFrom('--run', '--older-than', '--schema', '--prefix', '--json', '--dry-run', '--data-dir'),
          anyText,
        )
        .map(([o, v]) => `${o}=${v}`),
    )
    const argv = fc.oneof(
      fc.array(word, { maxLength: 7 }),
      fc
        .tuple(fc.constantFrom('decode', 'audit', 'sweep', 'registry', 'db'), fc.array(word, { maxLength: 6 }))
        .map(([c, rest]) => [c, ...rest]),
    )
    const program = buildProgram()

    it('is a checked command, help or version when asked, or exit 2 with one line — never another error', async () => {
      await fc.assert(
        fc.asyncProperty(argv, async (args) => {
          const beforeTerminator = args.includes('--') ? args.slice(0, args.indexOf('--')) : args
          let line
          try {
            line = parseCommandLine(program, args)
          } catch (error) {
            if (!(error instanceof CliExit)) throw error
            expect(error.code).toBe(2)
            expect(error.message).toMatch(/^\S[^\n]*$/)
            // runCli reports it the same way, in-process, on stderr
            const err: string[] = []
            const io = { out: () => {}, err: (t: string) => err.push(t), env: {}, stdoutTTY: false, stderrTTY: false }
            expect(await runCli(['node', 'leakless', ...args], io)).toBe(2)
            expect(err).toEqual([`leakless: ${error.message}`])
            return
          }
          if (line.kind === 'help') {
            expect(args.length === 0 || beforeTerminator.includes('--help') || beforeTerminator.includes('-h')).toBe(
              true,
            )
            expect(line.code).toBe(args.length === 0 ? 2 : 0)
            return
          }
          if (line.kind === 'version') {
            expect(['--version', '-v']).toContain(args[0])
            return
          }
          expect(args[0]).toBe(line.command)
          const { values } = line
          for (const [name, value] of Object.entries(values)) {
            if (value === true) expect(beforeTerminator).toContain(`--${name}`)
            else for (const v of [value].flat()) expect(v).not.toBe('')
          }
          // a dry run asked for is a dry run, or refused: never a real sweep
          if (
            line.command === 'sweep' &&
            beforeTerminator.some((a) => a === '--dry-run' || a.startsWith('--dry-run='))
          ) {
            expect(values['dry-run']).toBe(true)
          }
          if (values['older-than'] !== undefined) expect(parseDuration(values['older-than'] as string)).not.toBeNull()
          if (values.run !== undefined) expect(values.run).toMatch(RUN_TAG_PATTERN)
          if (values.prefix !== undefined) expectOwnedPrefix(values.prefix as string)
          if (line.command === 'db') expect(['start', 'stop', 'url', 'serve']).toContain(line.args[0])
          if (line.command === 'decode') {
            const out: string[] = []
            const io = {
              out: (t: string) => out.push(t),
              err: (t: string) => out.push(t),
              env: {},
              stdoutTTY: false,
              stderrTTY: false,
            }
            expect([0, 1]).toContain(await runCli(['node', 'leakless', ...args], io))
          }
        }),
        { numRuns: 5000 },
      )
    })
  })
})
