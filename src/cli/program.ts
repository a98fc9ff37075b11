import { cac, type CAC } from 'cac'
import { auditCommand } from './audit-command.js'
import { parseCommandLine, type CommandLine } from './command-line.js'
import { dbCommand } from './db-command.js'
import { decodeCommand } from './decode-command.js'
import { DURATION_FORMS } from './duration.js'
import { errorMessage, CliExit, EXIT } from './exit.js'
import { initCommand } from './init-command.js'
import type { CliIo } from './io.js'
import { packageVersion } from './package-version.js'
import { registryCommand } from './registry-command.js'
import { sweepCommand } from './sweep-command.js'

/** The commands and their options, for the help texts and for {@link parseCommandLine}; no actions. */
export function buildProgram(): CAC {
  const cli = cac('leakless')

  cli
    .command('decode <value>', 'Show who made an id or a value that starts with one (an e-mail)')
    .option('--json', 'Print one JSON object')
    .example('  $ leakless decode mi8d0k2wq3z9xa-w3p4242xk3z9a1-1-10.parent@example.test')

  cli
    .command('audit', 'Find rows a run left behind (exit 0 clean, 1 leaks, 2 error)')
    .option('--run <tag>', 'Run tag to audit (default: LEAKLESS_RUN)')
    .option('--prefix <prefix>', 'Audit one prefix instead: a worker process (run.prefix) or a test (scope.prefix)')
    .option('--deep', 'Also scan every text column of every table (slower)')
    .option('--json', 'Print the report as JSON')
    .option('--schema <schema>', 'Schema to audit; repeat for several (default: public)')
    .option('--config <file>', 'Config file (default: LEAKLESS_CONFIG, else leakless.config.ts found from here up)')
    .example('  $ leakless audit --run mi8d0k2wq3z9xa')

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

  cli
    .command('registry', 'Show the run registry in the database (runs, processes, tag columns, journaled keys)')
    .option('--run <tag>', 'Show one run')
    .option('--json', 'Print it as JSON')
    .option('--drop', 'Drop the registry (refused while a run holds its lease)')
    .option('--config <file>', 'Config file (default: LEAKLESS_CONFIG, else leakless.config.ts found from here up)')
    .example('  $ leakless registry --run mi8d0k2wq3z9xa')

  cli
    .command('db <action>', 'The embedded PostgreSQL: start (prints its URL), stop, url')
    .usage('db <start | stop | url> [--data-dir <dir>]')
    .option('--data-dir <dir>', 'Data directory (default: LEAKLESS_PG_DIR, else one per user and working directory)')
    .example('  $ export DATABASE_URL=$(leakless db start)')
    .example('  $ leakless db stop')

  cli
    .command(
      'init',
      'Write leakless.config.ts, factories for every table of your drizzle schema, and the runner wiring',
    )
    .option('--schema <file>', "Your drizzle schema module (default: drizzle.config.ts's schema)")
    .option('--out <file>', 'The factories module to write (default: test/factories.ts)')
    .option('--runner <runner>', 'vitest, playwright or both (default: vitest)')
    .option('--force', 'Overwrite files that exist')
    .example('  $ leakless init --schema ./src/db/schema.ts')

  cli.help()
  cli.version(packageVersion())
  return cli
}

/** The `leakless` command line: checks `argv`, then runs the command it names; resolves its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram()
  try {
    const line = parseCommandLine(program, argv.slice(2))
    switch (line.kind) {
      case 'help':
        // cac prints the help of the command a command line names.
        program.parse(['node', 'leakless', ...(line.command === null ? [] : [line.command]), '--help'], { run: false })
        return line.code
      case 'version':
        program.outputVersion()
        return EXIT.ok
      case 'command':
        return await runCommand(line, io)
    }
  } catch (error) {
    io.err(`leakless: ${errorMessage(error)}`)
    return error instanceof CliExit ? error.code : EXIT.error
  }
}

function runCommand(
  { command, args, values }: Extract<CommandLine, { kind: 'command' }>,
  io: CliIo,
): Promise<number> | number {
  const text = (name: string) => values[name] as string | undefined
  const flag = (name: string) => values[name] === true
  const schemas = (values.schema as string[] | undefined) ?? []
  switch (command) {
    case 'decode':
      return decodeCommand(args[0]!, { json: flag('json') }, io)
    case 'audit':
      return auditCommand(
        {
          run: text('run'),
          prefix: text('prefix'),
          deep: flag('deep'),
          json: flag('json'),
          schemas,
          config: text('config'),
        },
        io,
      )
    case 'sweep':
      return sweepCommand(
        {
          olderThan: text('older-than'),
          run: text('run'),
          dryRun: flag('dry-run'),
          scan: flag('scan'),
          json: flag('json'),
          schemas,
          config: text('config'),
        },
        io,
      )
    case 'init':
      if (schemas.length > 1) {
        throw new CliExit(
          EXIT.error,
          `--schema is given ${schemas.length} times: init reads one schema module. Run \`leakless init --help\`.`,
        )
      }
      return initCommand({ schema: schemas[0], out: text('out'), runner: text('runner'), force: flag('force') }, io)
    case 'registry':
      return registryCommand({ run: text('run'), json: flag('json'), drop: flag('drop'), config: text('config') }, io)
    default:
      return dbCommand(args[0]!, { dataDir: text('data-dir') }, io)
  }
}
