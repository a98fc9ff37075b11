import { parseArgs } from 'node:util'
import type { CAC, Command } from 'cac'
import { CliExit, EXIT } from './exit.js'
import { ACCEPTS, checkOptionValue } from './option-checks.js'

/** Option values by long name (`older-than`), as typed: text, every text of a repeatable one, or true. */
export type OptionValues = Record<string, string | string[] | true>

/** What a command line asks for, every value checked; nothing has run yet. */
export type CommandLine =
  | { kind: 'help'; command: string | null; code: number }
  | { kind: 'version' }
  | { kind: 'command'; command: string; args: string[]; values: OptionValues }

/** Options that may be given more than once. */
const REPEATABLE = new Set(['schema'])
/** Positional arguments with a closed set of values, by command. */
const ARG_VALUES: Readonly<Record<string, readonly string[]>> = { db: ['start', 'stop', 'url', 'serve'] }
/** What each positional argument accepts, by its name in the command's definition. */
const ARG_ACCEPTS: Readonly<Record<string, string>> = {
  value: 'an id, or a value that starts with one (an e-mail)',
  action: 'start, stop or url',
}

interface OptionSpec {
  name: string
  /** The placeholder of a value-taking option (`<duration>`), null for a flag. */
  value: string | null
}

function specsOf(command: Command): Map<string, OptionSpec> {
  const specs = new Map<string, OptionSpec>()
  for (const option of command.options) {
    const name = /--([a-z][a-z0-9-]*)/.exec(option.rawName)?.[1]
    if (name === undefined) continue
    specs.set(name, { name, value: option.isBoolean ? null : (/<[^>]+>/.exec(option.rawName)?.[0] ?? '<value>') })
  }
  return specs
}

/**
 * Reads `leakless <command> [options]` strictly, against the commands the cac program defines: an
 * unknown command or option, a flag given a value, a missing, empty, repeated or malformed value, and a
 * missing or extra argument each end with exit code 2 and one line that says what is wrong and what is
 * accepted. Values stay as typed (cac's parser turns `007` into 7 and reads `--older-than -1h` as `-1 -h`,
 * that is "help").
 */
export function parseCommandLine(program: CAC, args: readonly string[]): CommandLine {
  const names = program.commands.map((c) => c.name)
  const [first] = args
  if (first === undefined) return { kind: 'help', command: null, code: EXIT.error }
  if (first === '--help' || first === '-h') return { kind: 'help', command: null, code: EXIT.ok }
  if (first === '--version' || first === '-v') return { kind: 'version' }
  if (first.startsWith('-')) {
    throw new CliExit(
      EXIT.error,
      `unknown option ${JSON.stringify(first)}: a command comes first, leakless <${names.join(' | ')}> [options]. Run \`leakless --help\`.`,
    )
  }
  const command = program.commands.find((c) => c.name === first)
  if (command === undefined) {
    throw new CliExit(
      EXIT.error,
      `unknown command ${JSON.stringify(first)}. Commands: ${names.join(', ')}. Run \`leakless --help\`.`,
    )
  }
  const rest = args.slice(1)
  const terminator = rest.indexOf('--')
  const beforeTerminator = terminator === -1 ? rest : rest.slice(0, terminator)
  if (beforeTerminator.some((arg) => arg === '--help' || arg === '-h')) {
    return { kind: 'help', command: command.name, code: EXIT.ok }
  }
  return { kind: 'command', command: command.name, ...readCommand(command, rest) }
}

function readCommand(command: Command, args: readonly string[]): { args: string[]; values: OptionValues } {
  const specs = specsOf(command)
  const usage = (message: string) => new CliExit(EXIT.error, `${message}. Run \`leakless ${command.name} --help\`.`)
  const listed = [...specs.values()].map((s) => (s.value === null ? `--${s.name}` : `--${s.name} ${s.value}`))
  const options = Object.fromEntries(
    [...specs.values()].map((s) => [
      s.name,
      { type: s.value === null ? ('boolean' as const) : ('string' as const), multiple: REPEATABLE.has(s.name) },
    ]),
  )
  // Not strict: every token is checked below, with messages that say what is accepted.
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true })
  const values: OptionValues = {}
  const positionals: string[] = []
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    const typed = args[token.index]!
    const spec = specs.get(token.name)
    if (spec === undefined || !typed.startsWith('--')) {
      throw usage(
        `unknown option ${JSON.stringify(typed)} for ${command.name}${listed.length ? `; its options: ${listed.join(', ')}` : ''}`,
      )
    }
    if (spec.value === null) {
      if (token.value !== undefined) {
        throw usage(`--${spec.name} takes no value (got ${JSON.stringify(typed)}): write --${spec.name} alone`)
      }
      values[spec.name] = true
      continue
    }
    // `--run --json`: the next option is not a value, the value is missing.
    const text = token.value !== undefined && (token.inlineValue || !token.value.startsWith('--')) ? token.value : ''
    if (text === '') throw usage(`--${spec.name} needs a value: ${ACCEPTS[spec.name] ?? spec.value}`)
    checkOptionValue(spec.name, text)
    const previous = values[spec.name]
    if (REPEATABLE.has(spec.name)) {
      values[spec.name] = [...((previous as string[] | undefined) ?? []), text]
    } else if (previous !== undefined) {
      throw usage(
        `--${spec.name} is given twice (${JSON.stringify(previous)} and ${JSON.stringify(text)}): give it once`,
      )
    } else {
      values[spec.name] = text
    }
  }
  const wanted = command.args
  const missing = wanted.find((arg, i) => arg.required && positionals[i] === undefined)
  if (missing !== undefined)
    throw usage(`${command.name} needs <${missing.value}>: ${ARG_ACCEPTS[missing.value] ?? 'a value'}`)
  if (positionals.length > wanted.length && !wanted.some((arg) => arg.variadic)) {
    const extra = positionals[wanted.length]!
    const takes = wanted.length === 0 ? 'takes no arguments' : `takes ${wanted.map((a) => `<${a.value}>`).join(' ')}`
    throw usage(`unexpected argument ${JSON.stringify(extra)}: ${command.name} ${takes}`)
  }
  const allowed = ARG_VALUES[command.name]
  if (allowed !== undefined && positionals[0] !== undefined && !allowed.includes(positionals[0])) {
    const shown = allowed.filter((a) => a !== 'serve')
    throw usage(
      `unknown ${command.name} ${wanted[0]?.value ?? 'argument'} ${JSON.stringify(positionals[0])}: use ${shown.join(', ')}`,
    )
  }
  return { args: positionals, values }
}
