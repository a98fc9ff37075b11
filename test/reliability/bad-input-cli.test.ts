/**
 * The CLI's command line, fuzzed in-process (fast-check): a checked command, help or version when asked
 * for, or exit 2 with one line that says what is wrong — never another error, never a dry run read as a
 * real sweep, never a run tag, prefix or duration that was not checked. No database: nothing runs.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCommandLine } from '../../src/cli/command-line.js'
import { CliExit } from '../../src/cli/exit.js'
import { buildProgram, runCli } from '../../src/cli/program.js'
import { parseDuration } from '../../src/config/index.js'
import { RUN_TAG_PATTERN } from '../../src/ids/id-format.js'
import { createRunTag } from '../../src/index.js'
import { anyText, expectOwnedPrefix } from './fixtures/bad-input.js'

describe('bad input (fuzzed): the command line', () => {
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
        fc.constantFrom(
          '--run',
          '--older-than',
          '--schema',
          '--prefix',
          '--json',
          '--dry-run',
          '--data-dir',
          '--out',
          '--force',
        ),
        anyText,
      )
      .map(([o, v]) => `${o}=${v}`),
  )
  const argv = fc.oneof(
    fc.array(word, { maxLength: 7 }),
    fc
      .tuple(fc.constantFrom('decode', 'audit', 'sweep', 'registry', 'db', 'init'), fc.array(word, { maxLength: 6 }))
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
          expect(args.length === 0 || beforeTerminator.includes('--help') || beforeTerminator.includes('-h')).toBe(true)
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
        if (line.command === 'sweep' && beforeTerminator.some((a) => a === '--dry-run' || a.startsWith('--dry-run='))) {
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
