import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchBrowser, openPage, screenshot, UI_TIMEOUT_MS } from '../support/browser.js';
import { startGate } from '../support/gate.js';
import { serveWorkspace, type ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/**
 * The Runs list (docs/dashboard.md) in a real Chromium against a real `flowrun serve` with a real
 * component server: rows appear and change live, Cancel, the status chips, selection for Compare.
 */
describe.runIf(chromiumAvailable())('dashboard: runs list', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [env, browser] = await Promise.all([serveWorkspace(), launchBrowser()]);
    ({ page } = await openPage(browser));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  const row = (runId: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);

  it('opens at / on the runs list, showing a run submitted before', async () => {
    const run = await env.client.submit({ flow: ECHO_FLOW, inputs: [{ a: 1 }, { a: 2 }], flowLabel: 'first' });
    await run.wait();
    await page.goto(env.served.httpUrl);
    await row(run.runId).waitFor();
    expect(await row(run.runId).getAttribute('data-status')).toBe('success');
    expect(await row(run.runId).locator('[data-testid="progress"]').innerText()).toContain('2');
    expect(await row(run.runId).innerText()).toContain('first');
    expect(await page.locator('[data-testid="nav-runs"]').getAttribute('aria-current')).toBe('page');
  });
});
