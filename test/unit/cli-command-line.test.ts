import { describe, expect, it } from 'vitest'
import { parseCommandLine } from '../../src/cli/command-line.js'
import { CliExit } from '../../src/cli/exit.js'
import { buildProgram } from '../../src/cli/program.js'

const TAG = 'mi8d0k2wq3z9xa'
const parse = (...args: string[]) => parseCommandLine(buildProgram(), args)

/** The exit code and message a command line is refused with. */
function refusal(...args: string[]): { code: number; message: string } {
  try {
    parse(...args)
  } catch (error) {
    if (error instanceof CliExit) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error(`accepted: ${args.join(' ')}`)
}

describe('the command line', () => {
  it('reads commands, flags and values as typed', () => {
    expect(parse('sweep', '--older-than', '2d', '--dry-run', '--run', TAG, '--schema=007', '--schema', 'app')).toEqual({
      kind: 'command',
      command: 'sweep',
      args: [],
      values: { 'older-than': '2d', 'dry-run': true, run: TAG, schema: ['007', 'app'] },
    })
    expect(parse('decode', '--json', '--', '-not-an-option')).toMatchObject({
      args: ['-not-an-option'],
      values: { json: true },
    })
    expect(parse('audit', '--config', '1e3', '--prefix', `${TAG}-`)).toMatchObject({
      values: { config: '1e3', prefix: `${TAG}-` },
    })
    expect(parse('db', 'url', '--data-dir', '/tmp/x')).toMatchObject({
      args: ['url'],
      values: { 'data-dir': '/tmp/x' },
    })
  })

  it('help and version only when asked; no command is help with exit 2', () => {
    expect(parse()).toEqual({ kind: 'help', command: null, code: 2 })
    expect(parse('--help')).toEqual({ kind: 'help', command: null, code: 0 })
    expect(parse('-v')).toEqual({ kind: 'version' })
    expect(parse('sweep', '--dry-run', '-h')).toEqual({ kind: 'help', command: 'sweep', code: 0 })
  })

  it('a negative duration is a bad duration, not "-1 -h" (help, exit 0)', () => {
    for (const args of [
      ['sweep', '--older-than', '-1h'],
      ['sweep', '--older-than=-1h'],
    ]) {
      const { code, message } = refusal(...args)
      expect(code).toBe(2)
      expect(message).toBe(
        '--older-than "-1h" is not a duration. Use a whole number with a unit (s, m, h, d), e.g. 30s, 15m, 1h, 2d or 0.',
      )
    }
  })

  it('a flag given a value is refused: --dry-run=true must not run a real sweep', () => {
    for (const value of ['true', 'false', '1', '']) {
      expect(refusal('sweep', `--dry-run=${value}`).message).toMatch(/^--dry-run takes no value \(got "--dry-run=.*"\)/)
    }
    expect(refusal('sweep', '--dry-run', 'now').message).toMatch(/^unexpected argument "now": sweep takes no arguments/)
  })

  it('every other mistake exits 2 with one line that says what is accepted', () => {
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /^unknown command "bogus"\. Commands: decode, audit, sweep, registry, db, init\./],
      [['--bogus'], /^unknown option "--bogus": a command comes first/],
      [['sweep', '--bogus'], /^unknown option "--bogus" for sweep; its options: --older-than <duration>, --dry-run,/],
      [['sweep', '-1h'], /^unknown option "-1h" for sweep/],
      [['sweep', '--no-dry-run'], /^unknown option "--no-dry-run"/],
      [['sweep', '--older-than'], /^--older-than needs a value: a whole number with a unit/],
      [['sweep', '--older-than='], /^--older-than needs a value/],
      [['sweep', '--older-than', ''], /^--older-than needs a value/],
      [['sweep', '--run', '--dry-run'], /^--run needs a value: a run tag of 14 characters/],
      [
        ['sweep', '--older-than', '1h', '--older-than', '2h'],
        /^--older-than is given twice \("1h" and "2h"\): give it once/,
      ],
      [['sweep', '--run', 'bad'], /^--run "bad" is not a run tag\. Use a run tag of 14 characters \[0-9a-z\]/],
      [['sweep', '--run', TAG.toUpperCase()], /is not a run tag/],
      [['audit', '--run', ''], /^--run needs a value/],
      [['audit', '--prefix', TAG], /^--prefix "mi8d0k2wq3z9xa" is not an owned prefix/],
      [['audit', '--schema='], /^--schema needs a value: a schema name/],
      [['registry', '--run', `${TAG}x`], /is not a run tag/],
      [['decode'], /^decode needs <value>: an id, or a value that starts with one/],
      [['decode', 'a', 'b'], /^unexpected argument "b": decode takes <value>/],
      [['db'], /^db needs <action>: start, stop or url/],
      [['db', 'restart'], /^unknown db action "restart": use start, stop, url/],
      [['db', 'url', '--data-dir'], /^--data-dir needs a value: a directory/],
      [['init', 'schema.ts'], /^unexpected argument "schema\.ts": init takes no arguments/],
      [['init', '--out'], /^--out needs a value: the path of the factories module to write/],
      [['init', '--runner='], /^--runner needs a value: vitest, playwright or both/],
      [['init', '--force=1'], /^--force takes no value/],
      [
        ['init', '--schema', 'a.ts', '--bogus'],
        /^unknown option "--bogus" for init; its options: --schema <file>, --out <file>/,
      ],
    ]
    for (const [args, expected] of cases) {
      const { code, message } = refusal(...args)
      expect(code, args.join(' ')).toBe(2)
      expect(message, args.join(' ')).toMatch(expected)
      expect(message, args.join(' ')).not.toContain('\n')
    }
  })
})
