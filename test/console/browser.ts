// Drives Debian's chromium with playwright-core for the console's browser tests: headless, a
// fresh profile per browser, no network services of its own. Screenshots go to
// test-artifacts/console/ (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';

export const chromiumPath = process.env.EKMS_CHROMIUM ?? '/usr/bin/chromium';
export const artifacts = join(process.cwd(), 'test-artifacts', 'console');

/**
 * Why the browser tests cannot run here, or undefined. A missing browser fails the suite (CI
 * installs it) unless EKMS_SKIP_BROWSER_TESTS=1 says to skip.
 */
export function browserMissing(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  return `no chromium at ${chromiumPath} (apt-get install chromium, or set EKMS_CHROMIUM)`;
}

// Playwright adds --headless (headless: true), --no-sandbox and --user-data-dir itself.
const FLAGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far (a broken script shows up here). */
  problems: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ekms-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs every 4xx answer; the tests provoke AWS errors on purpose.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The frame of a browser test file: skipped when no browser can run and
 * EKMS_SKIP_BROWSER_TESTS=1 says so (a failure otherwise: CI installs one); else one browser,
 * opened before the file's tests and closed after them. `define` adds the tests; the browser it
 * is given may be used inside them.
 */
export async function browserSuite(t: Test, define: (browser: Browser) => void | Promise<void>): Promise<void> {
  const missing = browserMissing();
  if (missing && process.env.EKMS_SKIP_BROWSER_TESTS === '1') {
    t.skip(`browser tests skipped: ${missing}`);
    return;
  }
  if (missing) throw new Error(missing);
  let opened: Browser | undefined;
  t.before(async () => {
    opened = await openBrowser();
  });
  t.teardown(() => opened?.close());
  const use = (): Browser => {
    if (!opened) throw new Error('the browser opens before the first test runs');
    return opened;
  };
  await define({
    get context() {
      return use().context;
    },
    get page() {
      return use().page;
    },
    get problems() {
      return use().problems;
    },
    close: () => use().close(),
  });
}

/** Saves a full-page screenshot as test-artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
