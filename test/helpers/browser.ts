// The browser tier: the console's tests drive a real Chromium — Debian's `chromium` (or the one
// KILN_CHROMIUM names) through playwright-core, which downloads no browser of its own. Without it they
// skip saying so (or fail the run where KILN_REQUIRE_TIERS names `browser`, as .ci/run does).
import { accessSync, constants } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { tier } from './tier.js'

export const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium'

function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK)
    return undefined
  } catch {
    return `${CHROMIUM} not found (Debian's chromium: \`node test/prerequisites.mjs --browser\` installs it as root; KILN_CHROMIUM names another)`
  }
}

/** `describe(name, BROWSER, fn)`: runs where Chromium is. */
export const BROWSER = tier('browser', chromiumMissing())

export function launchChromium(): Promise<Browser> {
  // Headless; as root Chromium's own sandbox cannot start (playwright passes --no-sandbox unless asked for it).
  return chromium.launch({ executablePath: CHROMIUM, headless: true })
}
