import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { testRootDir } from './services.js';

/**
 * Debian's Chromium (installed by scripts/provision.sh; CHROMIUM_PATH for another one), headless,
 * driven by playwright-core, which downloads no browser of its own. No sandbox (CI runs as root),
 * no GPU, and none of the background traffic a fresh profile starts (updates, sync, metrics).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
}

/** Where browser tests write screenshots: SCREENSHOTS_DIR (docs/screenshots to refresh the README's), else the test run's folder. */
export function screenshotsDir(): string {
  const dir = path.resolve(process.env.SCREENSHOTS_DIR ?? path.join(testRootDir(), 'screenshots'));
  mkdirSync(dir, { recursive: true });
  return dir;
}
