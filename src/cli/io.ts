/** Where a command writes and what it knows about its terminal; process streams in the real CLI. */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  /** stdout is a terminal: colours are allowed (unless NO_COLOR is set). */
  stdoutTTY: boolean
  /** stderr is a terminal: progress lines are shown. */
  stderrTTY: boolean
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    stdoutTTY: process.stdout.isTTY === true,
    stderrTTY: process.stderr.isTTY === true,
  }
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(io: Pick<CliIo, 'env' | 'stdoutTTY'>): boolean {
  return io.stdoutTTY && io.env.NO_COLOR === undefined
}
