import type { Browser, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openDashboard, openPage, screenshot } from '../support/browser.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW } from '../support/workspace.js';

/**
 * The New run page (docs/dashboard.md) in a real Chromium against a real `flowrun serve` with a
 * real component server: a pasted YAML flow with JSON Lines inputs becomes a run whose page opens;
 * the server's refusal of a bad flow is shown naming the field, with the form kept; a flow run
 * before is offered by `flows/list` and run again.
 */
describe.runIf(chromiumAvailable())('dashboard: new run', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ env, browser, page } = await openDashboard());
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  const field = (testId: string) => page.locator(`[data-testid="${testId}"]`);
  const landedRun = async (): Promise<string> => {
    await page.waitForURL((url) => url.hash.startsWith('#/runs/'));
    return decodeURIComponent(new URL(page.url()).hash.slice('#/runs/'.length));
  };

  it('runs a pasted YAML flow over pasted JSON Lines and opens the new run', async () => {
    await page.goto(`${env.served.httpUrl}#/new`);
    // No flow was run yet: the page starts on pasting one.
    await field('flow-text').waitFor();
    expect(await field('source-pasted').getAttribute('aria-pressed')).toBe('true');
    await field('flow-text').fill(stringify(ECHO_FLOW));
    await field('inputs-text').fill('{"n": 1}\n{"n": 2}\n\n{"n": 3}\n');
    await field('max-concurrency').fill('2');
    await field('variables-text').fill('{"tone": "dry"}');
    await field('flow-label').fill('from the form');
    await screenshot(page, 'new-run');
    await field('submit-run').click();
    const runId = await landedRun();
    await page.locator('[data-testid="run-detail"][data-status="success"]').waitFor();
    const run = await env.client.run(runId).status();
    expect(run).toMatchObject({ flowName: 'echo', flowLabel: 'from the form', status: 'success', items: { total: 3, success: 3 } });
    expect(await env.client.run(runId).result()).toEqual([
      { outcome: 'success', value: { n: 1 } },
      { outcome: 'success', value: { n: 2 } },
      { outcome: 'success', value: { n: 3 } },
    ]);
  });

  it('shows the server refusing a bad flow, naming the field, and keeps the form as typed', async () => {
    await page.goto(`${env.served.httpUrl}#/new`);
    await field('source-pasted').click();
    const bad = 'name: broken\nsteps:\n  - id: e\n    input: { $input: "$" }\noutput: { $step: e }\n';
    await field('flow-text').fill(bad);
    await field('inputs-text').fill('{"n": 1}');
    await field('submit-run').click();
    // Shown beside the flow, as the server said it.
    const error = field('problem-flow');
    await error.waitFor();
    expect(await error.getAttribute('data-from-server')).toBe('true');
    expect(await error.innerText()).toContain('field "steps[0].component"');
    expect(await field('flow-text').inputValue()).toBe(bad);
    expect(await field('inputs-text').inputValue()).toBe('{"n": 1}');
    expect(new URL(page.url()).hash).toBe('#/new');
    await screenshot(page, 'new-run-refused');
  });

  it('names a line of the inputs that is not JSON before sending anything', async () => {
    await field('flow-text').fill(JSON.stringify(ECHO_FLOW));
    await field('inputs-text').fill('{"n": 1}\n{not json}\n');
    await field('submit-run').click();
    await field('problem-inputs').waitFor();
    expect(await field('problem-inputs').innerText()).toContain('Inputs line 2 is not JSON');
    expect(await field('submit-error').count()).toBe(0);
    expect(await field('problem-inputs').getAttribute('data-from-server')).toBe('false');
  });

  it('shows a refusal of the overrides beside them', async () => {
    await field('inputs-text').fill('{"n": 1}');
    await field('overrides-text').fill('{"e": {"$type": "no_such_patch", "value": {}}}');
    await field('submit-run').click();
    const error = field('problem-overrides');
    await error.waitFor();
    expect(await error.getAttribute('data-from-server')).toBe('true');
    expect(await error.innerText()).toContain('field "overrides');
    await field('overrides-text').fill('');
  });

  it('fits a 390 px wide screen', async () => {
    const { context, page: narrow } = await openPage(browser, { width: 390 });
    try {
      await narrow.goto(`${env.served.httpUrl}#/new`);
      await narrow.locator('[data-testid="inputs-text"]').waitFor();
      expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await screenshot(narrow, 'new-run-narrow');
    } finally {
      await context.close();
    }
  });

  it('offers a flow run before (flows/list), shows its text and runs it again', async () => {
    // The runs page first, shown before going on: two hash changes in one frame would keep the
    // earlier form (pasted by the tests above) mounted instead of opening a fresh one.
    await page.goto(`${env.served.httpUrl}#/runs`);
    await page.locator('[data-testid="run-row"]').first().waitFor();
    await page.goto(`${env.served.httpUrl}#/new`);
    const select = field('flow-select');
    await select.waitFor();
    expect(await field('source-stored').getAttribute('aria-pressed')).toBe('true');
    expect(await select.locator('option').first().innerText()).toMatch(/^echo · 1 run, last/);
    await field('flow-preview').locator('summary').click();
    await page.locator('[data-testid="flow-preview"] pre', { hasText: '/t/echo' }).waitFor();
    await field('inputs-text').fill('"again"');
    await field('submit-run').click();
    const runId = await landedRun();
    await page.locator('[data-testid="run-detail"][data-status="success"]').waitFor();
    expect(await env.client.run(runId).result()).toEqual([{ outcome: 'success', value: 'again' }]);
    expect((await env.client.listFlows()).flows).toMatchObject([{ flowName: 'echo', runs: 2 }]);
  });
});
