import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT, requireBuilt } from './paths.js';
import { serveWorkspace, type ServedWorkspace } from './served-workspace.js';

/** Debian's Chromium, or the one `FLOWRUN_CHROMIUM` names. */
const CHROMIUM = process.env.FLOWRUN_CHROMIUM || '/usr/bin/chromium';

/** Where the dashboard suites write their screenshots (gitignored). */
export const SCREENSHOTS = join(ROOT, 'test-artifacts/dashboard');

/** Generous: the machine running the suites may be busy. */
export const UI_TIMEOUT_MS = 30_000;

/**
 * Whether the browser suites can run: Chromium is installed. When it is not they skip with a
 * notice, unless `FLOWRUN_REQUIRE_CHROMIUM=1` (CI), where a missing browser fails them.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM) || process.env.FLOWRUN_REQUIRE_CHROMIUM === '1') return true;
  console.warn(`browser suites skipped: no Chromium at ${CHROMIUM} (install it, or set FLOWRUN_CHROMIUM)`);
  return false;
}

/** Launches one headless Chromium for a test file; the dashboard must be built. */
export async function launchBrowser(): Promise<Browser> {
  requireBuilt('dist/dashboard/index.html');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

export interface PageOptions {
  /** CSS width of the viewport; default 1280. */
  width?: number;
  colorScheme?: 'light' | 'dark';
}

/** A fresh context (its own storage) and page, with auto-waits of {@link UI_TIMEOUT_MS}. */
export async function openPage(browser: Browser, options: PageOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = await context.newPage();
  return { context, page };
}

/** Saves `test-artifacts/dashboard/<name>.png`: the viewport, cut below the page's content. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  const viewport = page.viewportSize() ?? { width: 1280, height: 900 };
  const content = (await page.evaluate('Math.ceil(document.body.getBoundingClientRect().bottom) + 16')) as number;
  await page.screenshot({ path, clip: { x: 0, y: 0, width: viewport.width, height: Math.min(viewport.height, Math.max(content, 240)) } });
  return path;
}

/**
 * Waits until `locator` matches exactly `n` elements (the page's CSP forbids the string predicates
 * of `waitForFunction`, so this waits on locators).
 */
export async function waitForCount(locator: Locator, n: number): Promise<void> {
  if (n > 0) await locator.nth(n - 1).waitFor({ state: 'attached' });
  await locator.nth(n).waitFor({ state: 'detached' });
}

/** What a dashboard suite drives: a served workspace, one Chromium and a page of it. */
export interface DashboardSession {
  env: ServedWorkspace;
  browser: Browser;
  page: Page;
}

/** Serves a workspace and opens a page in a fresh Chromium, both at once (each suite closes them). */
export async function openDashboard(): Promise<DashboardSession> {
  const [env, browser] = await Promise.all([serveWorkspace(), launchBrowser()]);
  const { page } = await openPage(browser);
  return { env, browser, page };
}
