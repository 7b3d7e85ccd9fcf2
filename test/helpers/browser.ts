/**
 * Debian's Chromium driven by playwright-core, with the flags this machine
 * needs (no sandbox as root, no background networking on a closed network)
 * and a fresh profile per launch. Screenshots go to test-results/screenshots.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = resolve('test-results/screenshots');

/** CI installs Chromium and sets LITEMAAS_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping. */
export const browserAvailable = (): boolean => {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.LITEMAAS_REQUIRE_BROWSER === '1') throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  process.stderr.write(`\n*** browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n\n`);
  return false;
};

export interface Browser { context: BrowserContext; page: Page; shot(name: string): Promise<string>; close(): Promise<void> }

export async function openBrowser(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'litemaas-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(10_000);
  mkdirSync(SHOTS, { recursive: true });
  return {
    context, page,
    async shot(name) {
      const file = join(SHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
