/**
 * The browser part of the playwright.config.ts texts the adapter tests write: the Chromium that
 * test/adapters/global-setup.ts found or installed (`obtainChromium`, handed on as LEAKLESS_CHROMIUM), else
 * Debian's, with the switches this machine needs (no sandbox, no GPU, no background traffic).
 */

/** The config's expression for the browser's path (a test that needs a broken browser replaces it). */
export const CHROMIUM_PATH = "process.env.LEAKLESS_CHROMIUM ?? '/usr/bin/chromium'"

/** The switches every generated config launches Chromium with. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-quic',
] as const

/**
 * The `launchOptions` object literal, as config text: `{`, its `executablePath` and `args`, `}`. The lines
 * after the first are indented by `indent`, so it sits where it is written (e.g. `launchOptions: ${...}` in
 * a `use` block).
 */
export function chromiumLaunchOptions(indent = ''): string {
  return [
    '{',
    `  executablePath: ${CHROMIUM_PATH},`,
    `  args: [${CHROMIUM_ARGS.map((arg) => `'${arg}'`).join(', ')}],`,
    '}',
  ].join(`\n${indent}`)
}
