import { cac, type CAC } from 'cac'
import { optionValue, optionValues } from './argv.js'
import { auditCommand } from './audit-command.js'
import { dbCommand } from './db-command.js'
import { decodeCommand } from './decode-command.js'
import { DURATION_FORMS } from './duration.js'
import { CliExit, errorMessage, EXIT } from './exit.js'
import type { CliIo } from './io.js'
import { packageVersion } from './package-version.js'
import { registryCommand } from './registry-command.js'
import { sweepCommand } from './sweep-command.js'

type Flags = Record<string, unknown>

/** The `leakless` command line: builds the commands and runs the one `argv` names; resolves its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = argv.slice(2)
  // cac turns numeric-looking option values into numbers: read string options as typed.
  const text = (name: string) => optionValue(args, name)
  const cli = cac('leakless')

  cli
    .command('decode <value>', 'Show who made an id or a value that starts with one (an e-mail)')
    .option('--json', 'Print one JSON object')
    .example('  $ leakless decode mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-10.parent@example.test')
    .action((value: unknown, flags: Flags) => decodeCommand(String(value), { json: flags.json === true }, io))

  cli
    .command('audit', 'Find rows a run left behind (exit 0 clean, 1 leaks, 2 error)')
    .option('--run <tag>', 'Run tag to audit (default: LEAKLESS_RUN)')
    .option('--prefix <prefix>', 'Audit one prefix instead: a worker process (run.prefix) or a test (scope.prefix)')
    .option('--deep', 'Also scan every text column of every table (slower)')
    .option('--json', 'Print the report as JSON')
    .option('--schema <schema>', 'Schema to audit; repeat for several (default: public)')
    .option('--config <file>', 'Config file (default: LEAKLESS_CONFIG, else leakless.config.ts found from here up)')
    .example('  $ leakless audit --run mi8d0k2wq3z9xa')
    .action((flags: Flags) =>
      auditCommand(
        {
          run: text('run'),
          prefix: text('prefix'),
          deep: flags.deep === true,
          json: flags.json === true,
          schemas: optionValues(args, 'schema'),
          config: text('config'),
        },
        io,
      ),
    )

  cli
    .command('sweep', 'Delete what dead runs left behind (runs without a live lease, older than --older-than)')
    .option('--older-than <duration>', `Only runs started at least this long ago: ${DURATION_FORMS} (default: 1h)`)
    .option('--dry-run', 'Count what would be deleted, delete nothing')
    .option('--run <tag>', 'Sweep only the processes of this run')
    .option('--scan', 'Also scan every tag column for runs the registry does not know (slow on big tables)')
    .option('--json', 'Print the report as JSON')
    .option('--schema <schema>', 'Schema to sweep; repeat for several (default: public)')
    .option('--config <file>', 'Config file (default: LEAKLESS_CONFIG, else leakless.config.ts found from here up)')
    .example('  $ leakless sweep --older-than 2d --dry-run')
    .action((flags: Flags) =>
      sweepCommand(
        {
          olderThan: text('older-than'),
          run: text('run'),
          dryRun: flags.dryRun === true,
          scan: flags.scan === true,
          json: flags.json === true,
          schemas: optionValues(args, 'schema'),
          config: text('config'),
        },
        io,
      ),
    )

  cli
    .command('registry', 'Show the run registry in the database (runs, processes, tag columns, journaled keys)')
    .option('--run <tag>', 'Show one run')
    .option('--json', 'Print it as JSON')
    .option('--drop', 'Drop the registry (refused while a run holds its lease)')
    .option('--config <file>', 'Config file (default: LEAKLESS_CONFIG, else leakless.config.ts found from here up)')
    .example('  $ leakless registry --run mi8d0k2wq3z9xa')
    .action((flags: Flags) =>
      registryCommand(
        { run: text('run'), json: flags.json === true, drop: flags.drop === true, config: text('config') },
        io,
      ),
    )

  cli
    .command('db <action>', 'The embedded PostgreSQL: start (prints its URL), stop, url')
    .usage('db <start | stop | url> [--data-dir <dir>]')
    .option('--data-dir <dir>', 'Data directory (default: LEAKLESS_PG_DIR, else one per user and working directory)')
    .example('  $ export DATABASE_URL=$(leakless db start)')
    .example('  $ leakless db stop')
    .action((action: unknown, _flags: Flags) => dbCommand(String(action), { dataDir: text('data-dir') }, io))

  cli.help()
  cli.version(packageVersion())

  try {
    const { options } = cli.parse([...argv], { run: false })
    if (options.help === true || options.version === true) return EXIT.ok // cac printed them
    if (cli.matchedCommand === undefined) return unmatched(cli, io)
    return (await cli.runMatchedCommand()) as number
  } catch (error) {
    // cac's own errors: unknown option, missing argument or value.
    const message = errorMessage(error).replace(/^CACError: /, '')
    const usage = (error as Error).name === 'CACError'
    const command = cli.matchedCommandName === undefined ? '' : ` ${cli.matchedCommandName}`
    const hint = usage ? `${/[.!?]$/.test(message) ? '' : '.'} Run \`leakless${command} --help\`.` : ''
    io.err(`leakless: ${message}${hint}`)
    return error instanceof CliExit ? error.code : EXIT.error
  }
}

function unmatched(cli: CAC, io: CliIo): number {
  const [name] = cli.args
  if (name === undefined) {
    cli.outputHelp()
    return EXIT.error
  }
  io.err(`leakless: unknown command "${name}". Commands: decode, audit, sweep, registry, db. Run \`leakless --help\`.`)
  return EXIT.error
}
