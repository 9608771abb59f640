import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openDashboard, openPage, screenshot } from '../support/browser.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/** Tab presses at most to reach one control: the pages have far fewer. */
const MAX_TABS = 80;

/** WCAG's contrast ratio of two `#rrggbb` colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Text colours and what they are read on: every pair the stylesheet uses for text. */
const TEXT_PAIRS = [
  ...['--fg', '--muted', '--accent', '--success', '--failed', '--cancelled', '--running'].flatMap((fg) => [[fg, '--bg'], [fg, '--card']]),
  ['--on-accent', '--accent'],
] as const;

/**
 * The dashboard by keyboard alone (docs/dashboard.md) in a real Chromium against a real `flowrun
 * serve`: Tab reaches every control with a visible focus, Enter ticks runs and opens Compare, an
 * item's drawer opens with Enter and Escape gives the focus back to where it was; the colours of
 * text keep their contrast in both schemes.
 */
describe.runIf(chromiumAvailable())('dashboard: keyboard', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;
  let ids: string[];

  beforeAll(async () => {
    ({ env, browser, page } = await openDashboard());
    const a = await env.client.submit({ flow: ECHO_FLOW, inputs: [{ v: 1 }, { v: 2 }], flowLabel: 'kb-a' });
    const b = await env.client.submit({ flow: ECHO_FLOW, inputs: [{ v: 1 }, { v: 3 }], flowLabel: 'kb-b' });
    await Promise.all([a.wait(), b.wait()]);
    ids = [a.runId, b.runId];
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  /** What has the focus: its test id, run id and outline. */
  const focused = () =>
    page.evaluate(`(() => {
      const el = document.activeElement;
      const style = el === null ? undefined : getComputedStyle(el);
      return {
        testId: el?.getAttribute('data-testid') ?? undefined,
        runId: el?.closest('[data-run-id]')?.getAttribute('data-run-id') ?? undefined,
        outline: style === undefined ? 'none' : style.outlineStyle + ' ' + style.outlineWidth,
      };
    })()`) as Promise<{ testId?: string; runId?: string; outline: string }>;

  /** Presses Tab until the control `testId` (of run `runId`, when given) has the focus; asserts its focus shows. */
  async function tabTo(testId: string, runId?: string): Promise<void> {
    for (let presses = 0; presses < MAX_TABS; presses++) {
      await page.keyboard.press('Tab');
      const now = await focused();
      if (now.testId === testId && (runId === undefined || now.runId === runId)) {
        expect(now.outline, `the focus on ${testId} is visible`).not.toMatch(/^none/);
        return;
      }
    }
    throw new Error(`Tab never reached ${testId}${runId === undefined ? '' : ` of run ${runId}`}`);
  }

  it('ticks two runs with Tab and Enter and opens Compare with Enter', async () => {
    await page.goto(env.served.httpUrl);
    await page.locator(`[data-testid="run-row"][data-run-id="${ids[1]}"]`).waitFor();
    // Newest first: B's row comes before A's.
    await tabTo('select-run', ids[1]);
    await page.keyboard.press('Enter');
    await tabTo('select-run', ids[0]);
    await page.keyboard.press('Space');
    expect(await page.locator('[data-testid="select-run"]:checked').count()).toBe(2);
    await screenshot(page, 'keyboard-runs-selected');
    // Compare sits before the rows: Shift+Tab goes back to it.
    for (let presses = 0; (await focused()).testId !== 'compare-selected'; presses++) {
      if (presses > MAX_TABS) throw new Error('Shift+Tab never reached Compare');
      await page.keyboard.press('Shift+Tab');
    }
    expect((await focused()).outline).not.toMatch(/^none/);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.hash === `#/compare/${[ids[1], ids[0]].join(',')}`);
    await page.locator('[data-testid="compare-item"]').first().waitFor();
    expect(await page.locator('[data-testid="compare-summary"]').innerText()).toMatch(/1 same · 1 different/);
  });

  it("opens an item's drawer with Enter; Escape closes it and gives the focus back", async () => {
    const run = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: 'http://127.0.0.1:1/', item: 0 }] });
    await run.wait();
    await page.goto(`${env.served.httpUrl}#/runs/${run.runId}`);
    await page.locator('[data-testid="item-row"]').first().waitFor();
    await tabTo('open-item');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="item-drawer"] [data-testid="item-error"]').waitFor();
    expect((await focused()).testId).toBe('drawer-close');
    // A modal dialog: Tab and Shift+Tab stay inside it.
    for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      expect(await page.evaluate(`!!document.activeElement?.closest('[data-testid="item-drawer"]')`), `focus inside the drawer after ${key}`).toBe(true);
    }
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="item-drawer"]').waitFor({ state: 'detached' });
    expect((await focused()).testId).toBe('open-item');
    // The page's actions come next in the tab order from the header, each showing its focus.
    await page.locator('[data-testid="nav-runs"]').focus();
    await tabTo('download');
    await tabTo('delete-run');
  });

  it('keeps every text colour at a contrast of 4.5:1 or more, light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const other = await openPage(browser, { colorScheme });
      try {
        await other.page.goto(env.served.httpUrl);
        await other.page.locator('[data-testid="run-row"]').first().waitFor();
        const names = [...new Set(TEXT_PAIRS.flat())];
        const values = (await other.page.evaluate(
          `(() => { const s = getComputedStyle(document.documentElement); return ${JSON.stringify(names)}.map((n) => s.getPropertyValue(n).trim()); })()`,
        )) as string[];
        const colour = new Map(names.map((n, i) => [n, values[i]!]));
        const poor = TEXT_PAIRS.map(([fg, bg]) => ({ fg, bg, ratio: contrast(colour.get(fg)!, colour.get(bg)!) })).filter((p) => !(p.ratio >= 4.5));
        expect(poor, `${colorScheme}: ${JSON.stringify(poor)}`).toEqual([]);
      } finally {
        await other.context.close();
      }
    }
  });

  it('reaches the status chips and the navigation by Tab, and Enter follows them', async () => {
    await page.goto(`${env.served.httpUrl}#/runs`);
    await page.locator('[data-testid="run-row"]').first().waitFor();
    await page.locator('[data-testid="nav-runs"]').focus();
    await tabTo('chip-failed');
    await page.keyboard.press('Enter');
    expect(await page.locator('[data-testid="chip-failed"]').getAttribute('aria-pressed')).toBe('true');
    await page.locator('[data-testid="run-row"][data-status="failed"]').first().waitFor();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await tabTo('chip-all');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="nav-runs"]').focus();
    await tabTo('nav-new');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.hash === '#/new');
  });
});
