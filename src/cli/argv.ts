/**
 * Every value given for a `--name <value>` option, exactly as typed. The parser cac uses turns
 * numeric-looking values into numbers (`007` → 7, `1e3` → 1000), which would corrupt prefixes, paths
 * and durations; cac still validates the options, this only recovers their text.
 */
export function optionValues(args: readonly string[], name: string): string[] {
  const flag = `--${name}`
  const values: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') break
    if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1))
    else if (arg === flag && i + 1 < args.length && !args[i + 1]!.startsWith('-')) values.push(args[++i]!)
  }
  return values
}

/** The last value of a `--name <value>` option, or undefined when it is not given. */
export function optionValue(args: readonly string[], name: string): string | undefined {
  return optionValues(args, name).at(-1)
}
