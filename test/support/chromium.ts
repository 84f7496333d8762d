/**
 * Debian's Chromium, headless, driven by playwright-core, for tests of the web dashboard. A
 * browser that cannot start fails the test with the reason and what to install; it is never
 * skipped. `.ci/run` installs the package when /usr/bin/chromium is missing.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env['TSFLINK_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Flags that keep Chromium from reaching for the network on its own (updates, sync, Google's
 * hosts), which a closed network refuses; playwright gives each launch a new empty profile.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's package (apt-get install -y chromium), or set TSFLINK_CHROMIUM to its binary.`);
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM} did not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
