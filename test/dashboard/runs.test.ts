import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openDashboard, openPage, screenshot, waitForCount } from '../support/browser.js';
import { startGate } from '../support/gate.js';
import { connect } from '../../src/client/index.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/**
 * The Runs list (docs/dashboard.md) in a real Chromium against a real `flowrun serve` (SQLite) with a
 * real component server: rows appear and change live without a reload, Cancel, the status chips
 * (kept across a reload), selecting runs to compare, a narrow screen.
 */
describe.runIf(chromiumAvailable())('dashboard: runs list', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;
  let gate: Awaited<ReturnType<typeof startGate>>;
  /** The serve started again on the workspace by the reconnect test. */
  let restarted: ServedProcess | undefined;

  beforeAll(async () => {
    [{ env, browser, page }, gate] = await Promise.all([openDashboard(), startGate()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gate?.close();
    await restarted?.stop();
    await env?.close();
  });

  const row = (runId: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  const rowWithStatus = (runId: string, status: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"][data-status="${status}"]`);
  const gatedInputs = (n: number) => Array.from({ length: n }, (_, item) => ({ url: gate.url, item }));
  const chip = (name: string) => page.locator(`[data-testid="chip-${name}"]`);

  it('opens at / on the runs list, showing a run submitted before', async () => {
    const run = await env.client.submit({ flow: ECHO_FLOW, inputs: [{ a: 1 }, { a: 2 }], flowLabel: 'first' });
    await run.wait();
    await page.goto(env.served.httpUrl);
    await rowWithStatus(run.runId, 'success').waitFor();
    expect(await row(run.runId).locator('[data-testid="progress"]').innerText()).toContain('2 / 2');
    expect(await row(run.runId).innerText()).toContain('first');
    expect(await page.locator('[data-testid="nav-runs"]').getAttribute('aria-current')).toBe('page');
  });

  it('shows a run submitted after the page opened, and follows it from running to success without a reload', async () => {
    await page.evaluate('window.notReloaded = true');
    const before = gate.count();
    const run = await env.client.submit({ flow: GATE_FLOW, inputs: gatedInputs(3), flowLabel: 'live' });
    await gate.arrived(before + 3);
    await rowWithStatus(run.runId, 'running').waitFor();
    expect(await row(run.runId).locator('.spinner').count()).toBe(1);
    expect(await row(run.runId).locator('[data-testid="cancel-run"]').count()).toBe(1);
    const first = page.locator('[data-testid="run-row"]').first();
    expect(await first.getAttribute('data-run-id')).toBe(run.runId);
    await screenshot(page, 'runs-list-running');
    gate.release();
    await rowWithStatus(run.runId, 'success').waitFor();
    expect(await row(run.runId).locator('[data-testid="progress"]').innerText()).toContain('3 / 3');
    expect(await row(run.runId).locator('[data-testid="cancel-run"]').count()).toBe(0);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('cancels a running run from its row', async () => {
    const held = await startGate();
    try {
      const run = await env.client.submit({ flow: GATE_FLOW, inputs: Array.from({ length: 2 }, (_, item) => ({ url: held.url, item })) });
      await held.arrived(2);
      await rowWithStatus(run.runId, 'running').waitFor();
      await row(run.runId).locator('[data-testid="cancel-run"]').click();
      await rowWithStatus(run.runId, 'cancelled').waitFor();
      expect((await env.client.run(run.runId).status()).status).toBe('cancelled');
    } finally {
      await held.close();
    }
  });

  it('filters by status chip, and keeps the chip across a reload', async () => {
    const ok = await env.client.submit({ flow: ECHO_FLOW, inputs: [{ ok: true }] });
    const failing = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: 'http://127.0.0.1:1/', item: 0 }] });
    await Promise.all([ok.wait(), failing.wait()]);
    await rowWithStatus(failing.runId, 'failed').waitFor();
    await chip('failed').click();
    await row(ok.runId).waitFor({ state: 'detached' });
    await rowWithStatus(failing.runId, 'failed').waitFor();
    expect(await page.locator('[data-testid="run-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))).toEqual(['failed']);
    await page.reload();
    await rowWithStatus(failing.runId, 'failed').waitFor();
    expect(await chip('failed').getAttribute('aria-pressed')).toBe('true');
    expect(await row(ok.runId).count()).toBe(0);
    await chip('all').click();
    await row(ok.runId).waitFor();
    await screenshot(page, 'runs-list');
  });

  it('filters by label, metadata and creation time', async () => {
    const tagged = await env.client.submit({ flow: ECHO_FLOW, inputs: [{}], flowLabel: 'tagged', metadata: { team: 'blue', n: 7 } });
    await tagged.wait();
    await page.locator('[data-testid="filter-metadata"]').fill('n=7');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.locator('[data-testid="run-row"]').first().waitFor();
    await waitForCount(page.locator('[data-testid="run-row"]'), 1);
    expect(await page.locator('[data-testid="run-row"]').getAttribute('data-run-id')).toBe(tagged.runId);
    await page.locator('[data-testid="filter-metadata"]').fill('');
    await page.locator('[data-testid="filter-label"]').fill('no-such-label');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.locator('[data-testid="no-runs"]').waitFor();
    await page.locator('[data-testid="filter-label"]').fill('');
    await page.locator('[data-testid="filter-after"]').fill('2999-01-01T00:00');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.locator('[data-testid="no-runs"]').waitFor();
    await page.locator('[data-testid="filter-after"]').fill('');
    await page.locator('[data-testid="filter-before"]').fill('2999-01-01T00:00');
    await page.locator('[data-testid="filter-apply"]').click();
    await row(tagged.runId).waitFor();
    await page.locator('[data-testid="filter-before"]').fill('');
    await page.locator('[data-testid="filter-apply"]').click();
  });

  it('picks two runs and opens them in Compare', async () => {
    const ids = await page.locator('[data-testid="run-row"]').evaluateAll((rows) => rows.slice(0, 2).map((r) => r.getAttribute('data-run-id')!));
    const compare = page.locator('[data-testid="compare-selected"]');
    expect(await compare.isDisabled()).toBe(true);
    for (const id of ids) await row(id).locator('[data-testid="select-run"]').check();
    expect(await compare.isEnabled()).toBe(true);
    await compare.click();
    await page.waitForURL((url) => url.hash === `#/compare/${ids.join(',')}`);
  });

  it('pages with Load more once there are more than 50 runs', async () => {
    await page.goto(`${env.served.httpUrl}#/runs`);
    await page.locator('[data-testid="run-row"]').first().waitFor();
    const shown = await page.locator('[data-testid="run-row"]').count();
    const missing = Math.max(0, 51 - shown);
    for (let i = 0; i < missing; i++) await (await env.client.submit({ flow: ECHO_FLOW, inputs: [{ i }] })).wait();
    await page.reload();
    await page.locator('[data-testid="load-more"]').click();
    await page.locator('[data-testid="run-row"]').nth(shown + missing - 1).waitFor();
  });

  it('fits a 390 px wide screen without scrolling sideways, even with a very long flow name and label', async () => {
    const longName = `flow-${'x'.repeat(150)}`;
    const longLabel = `label-${'y'.repeat(200)}`;
    const long = await env.client.submit({ flow: { ...ECHO_FLOW, name: longName }, inputs: [{ a: 1 }], flowLabel: longLabel });
    await long.wait();
    const narrow = await openPage(browser, { width: 390 });
    try {
      await narrow.page.goto(env.served.httpUrl);
      const longRow = narrow.page.locator(`[data-testid="run-row"][data-run-id="${long.runId}"]`);
      await longRow.waitFor();
      expect(await narrow.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      // Cut to two lines each (the whole text in the tooltip), so one row does not fill the screen.
      expect((await longRow.boundingBox())!.height).toBeLessThan(150);
      expect(await longRow.locator('[data-testid="flow-name"]').getAttribute('title')).toBe(longName);
      expect(await longRow.locator('[data-testid="flow-label"]').getAttribute('title')).toBe(longLabel);
      await screenshot(narrow.page, 'runs-list-390');
    } finally {
      await narrow.context.close();
    }
  });

  it('reconnects after the server restarts and shows what happened meanwhile, without a reload', async () => {
    await page.goto(env.served.httpUrl);
    await page.locator('[data-testid="run-row"]').first().waitFor();
    await page.evaluate('window.notReloaded = true');
    const port = new URL(env.served.httpUrl).port;
    await env.client.close();
    await env.served.stop();
    await page.locator('[data-testid="connection"][data-state="reconnecting"]').waitFor();
    expect(await page.locator('[data-testid="connection"]').innerText()).toContain('Connection lost');
    // The same workspace (SQLite keeps runs and events) on the same port: the page's next attempt reaches it.
    restarted = await spawnServe(['--config', env.ws.config, '--port', port], { cwd: env.ws.dir });
    const client = await connect(restarted.url);
    try {
      const run = await client.submit({ flow: ECHO_FLOW, inputs: [{ after: 'restart' }], flowLabel: 'after-restart' });
      await run.wait();
      await rowWithStatus(run.runId, 'success').waitFor();
      await page.locator('[data-testid="connection"]').waitFor({ state: 'detached' });
      expect(await page.evaluate('window.notReloaded')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('reads well in the dark scheme', async () => {
    const dark = await openPage(browser, { colorScheme: 'dark' });
    try {
      await dark.page.goto(env.served.httpUrl);
      await dark.page.locator('[data-testid="run-row"]').first().waitFor();
      const background = await dark.page.evaluate('getComputedStyle(document.body).backgroundColor');
      expect(background).toBe('rgb(13, 17, 23)');
      await screenshot(dark.page, 'runs-list-dark');
    } finally {
      await dark.context.close();
    }
  });
});
