import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openDashboard, openPage, screenshot } from '../support/browser.js';
import { startGate } from '../support/gate.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/** Items per run: more than one page of the Compare table (50). */
const ITEMS = 60;
/** The items whose input differs between the two runs: every tenth, from 3. */
const DIFFERING = Array.from({ length: ITEMS }, (_, i) => i).filter((i) => i % 10 === 3);

/**
 * The Compare page (docs/dashboard.md) in a real Chromium against a real `flowrun serve` with a
 * real component server: two runs of one flow, submitted with different variables and inputs that
 * differ at some items, chosen in the runs list.
 */
describe.runIf(chromiumAvailable())('dashboard: compare', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;
  let ids: string[];

  beforeAll(async () => {
    ({ env, browser, page } = await openDashboard());
    const inputs = (b: boolean) => Array.from({ length: ITEMS }, (_, i) => ({ i, value: b && DIFFERING.includes(i) ? `changed ${i}` : `same ${i}` }));
    const a = await env.client.submit({ flow: ECHO_FLOW, inputs: inputs(false), variables: { tone: 'dry' }, flowLabel: 'baseline', metadata: { team: 'search' } });
    const b = await env.client.submit({ flow: ECHO_FLOW, inputs: inputs(true), variables: { tone: 'wet' }, flowLabel: 'candidate', metadata: { team: 'search' } });
    await Promise.all([a.wait(), b.wait()]);
    ids = [a.runId, b.runId];
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  const items = () => page.locator('[data-testid="compare-item"]');
  const sameOf = () => items().evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-key')}:${r.getAttribute('data-same')}:${r.className}`));

  it('opens from two runs selected in the list, marking the differing items and settings', async () => {
    await page.goto(env.served.httpUrl);
    for (const runId of ids) await page.locator(`[data-testid="run-row"][data-run-id="${runId}"] [data-testid="select-run"]`).check();
    await page.locator('[data-testid="compare-selected"]').click();
    await page.waitForURL((url) => url.hash === `#/compare/${ids.join(',')}`);
    await items().first().waitFor();
    expect(await page.locator('[data-testid="compare-run"]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-run-id')))).toEqual(ids);
    expect(await page.locator('[data-testid="compare-summary"]').innerText()).toMatch(/60 items: 54 same · 6 different · 0 missing/);
    // The first page: items 0–49, those of DIFFERING marked.
    const firstPage = await sameOf();
    expect(firstPage).toHaveLength(50);
    for (const row of firstPage) {
      const [key, same, cls] = row.split(':');
      const differs = DIFFERING.includes(Number(key));
      expect(same, `item ${key}`).toBe(String(!differs));
      expect(cls, `item ${key}`).toBe(differs ? 'differs' : '');
    }
    // Settings: the variable and the label differ, the flow and the metadata do not.
    const settings = page.locator('[data-testid="compare-settings"]');
    expect(await settings.locator('[data-testid="setting-differs"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-setting')))).toEqual(['label', 'variables.tone']);
    expect(await settings.locator('[data-setting="variables.tone"]').innerText()).toMatch(/"?dry"?[\s\S]*"?wet"?/);
    expect(await settings.locator('[data-setting="metadata.team"]').getAttribute('data-testid')).toBe('setting-same');
    await screenshot(page, 'compare');
  });

  it('pages through the items', async () => {
    await page.locator('[data-testid="compare-next"]').click();
    await page.locator('[data-testid="compare-item"][data-key="59"]').waitFor();
    expect((await sameOf()).map((row) => Number(row.split(':')[0]))).toEqual(Array.from({ length: 10 }, (_, k) => 50 + k));
    await page.locator('[data-testid="compare-prev"]').click();
    await page.locator('[data-testid="compare-item"][data-key="0"]').waitFor();
  });

  it('"only differences" hides the equal items, and shows them again', async () => {
    const toggle = page.locator('[data-testid="only-differences"]');
    await toggle.click();
    await page.locator('[data-testid="compare-item"][data-key="0"]').waitFor({ state: 'detached' });
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await sameOf()).toEqual(DIFFERING.map((i) => `${i}:false:differs`));
    expect(await page.locator('[data-testid="compare-next"]').count()).toBe(0);
    await screenshot(page, 'compare-only-differences');
    await toggle.click();
    await page.locator('[data-testid="compare-item"][data-key="0"]').waitFor();
    expect(await items().count()).toBe(50);
  });

  it('fits a 390 px wide screen in the dark scheme: the tables scroll inside their cards', async () => {
    const { context, page: narrow } = await openPage(browser, { width: 390, colorScheme: 'dark' });
    try {
      await narrow.goto(`${env.served.httpUrl}#/compare/${ids.join(',')}`);
      await narrow.locator('[data-testid="compare-item"]').first().waitFor();
      expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await screenshot(narrow, 'compare-narrow-dark');
    } finally {
      await context.close();
    }
  });

  it('follows a run still going: its finish updates the comparison without a reload or a click', async () => {
    const gate = await startGate();
    try {
      const held = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      await page.goto(`${env.served.httpUrl}#/compare/${held.runId},${ids[0]}`);
      const summary = page.locator('[data-testid="compare-summary"]');
      await page.locator(`[data-testid="compare-run"][data-run-id="${held.runId}"] [data-testid="status"]`, { hasText: 'running' }).waitFor();
      expect(await summary.innerText()).toContain('0 same · 0 different · 60 missing');
      gate.release();
      await page.locator(`[data-testid="compare-run"][data-run-id="${held.runId}"] [data-testid="status"]`, { hasText: 'success' }).waitFor();
      await summary.filter({ hasText: '0 same · 1 different · 59 missing' }).waitFor();
      expect(await page.locator('[data-testid="compare-item"][data-key="0"]').getAttribute('data-same')).toBe('false');
    } finally {
      await gate.close();
    }
  });

  it('asks for 2 to 4 runs when given fewer', async () => {
    await page.goto(`${env.served.httpUrl}#/compare/${ids[0]}`);
    await page.locator('[data-testid="compare-hint"]').waitFor();
    expect(await page.locator('[data-testid="compare-hint"]').innerText()).toContain('Select 2 to 4 runs');
  });
});
