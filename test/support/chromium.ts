/**
 * Finds the Chromium the Playwright suites drive, and gets one where the platform allows: a test
 * command must never pass (or exit 0) without running its browser suites.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
]

/** The command that installs one here, for messages. */
export const INSTALL_HINT =
  "apt-get install -y chromium (Debian, Ubuntu), or `npx playwright install chromium` where Playwright's download is reachable, or set LEAKLESS_CHROMIUM=<path to a Chromium or Chrome>"

function playwrightsOwn(): string | null {
  try {
    const { chromium } = createRequire(import.meta.url)('@playwright/test') as {
      chromium: { executablePath(): string }
    }
    const path = chromium.executablePath()
    return existsSync(path) ? path : null
  } catch {
    return null
  }
}

/** `LEAKLESS_CHROMIUM` (which must exist), Playwright's own browser, or a system Chromium / Chrome; null for none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.LEAKLESS_CHROMIUM) {
    if (!existsSync(env.LEAKLESS_CHROMIUM)) {
      throw new Error(
        `LEAKLESS_CHROMIUM=${env.LEAKLESS_CHROMIUM} does not exist. Point it at a Chromium or Chrome, or unset it.`,
      )
    }
    return env.LEAKLESS_CHROMIUM
  }
  return playwrightsOwn() ?? SYSTEM_BROWSERS.find((path) => existsSync(path)) ?? null
}

function tryInstall(command: string, args: string[]): void {
  try {
    execFileSync(command, args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    })
  } catch {
    // The next way, or the error that names them all.
  }
}

/**
 * A Chromium to drive: found, or installed the way this machine allows (Debian's package as root;
 * Playwright's download elsewhere). Throws with the one command that fixes it when neither works.
 */
export function obtainChromium(env: NodeJS.ProcessEnv = process.env): string {
  const found = findChromium(env)
  if (found !== null) return found
  if (process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.error("No Chromium found: installing Debian's chromium (apt-get install -y chromium)…")
    tryInstall('apt-get', ['update', '-qq'])
    tryInstall('apt-get', ['install', '-y', '-qq', 'chromium'])
  } else {
    console.error("No Chromium found: trying Playwright's own (npx playwright install chromium)…")
    tryInstall('npx', ['playwright', 'install', 'chromium'])
  }
  const installed = findChromium(env)
  if (installed !== null) return installed
  throw new Error(
    `The Playwright suites need a Chromium, and none was found or could be installed. Install one: ${INSTALL_HINT}.`,
  )
}
