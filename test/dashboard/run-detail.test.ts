import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openDashboard, openPage, screenshot, waitForCount } from '../support/browser.js';
import { CallbackReceiver } from '../support/callback-receiver.js';
import { startGate } from '../support/gate.js';
import { until, waitFor } from '../support/wait-for.js';
import { connect } from '../../src/client/index.js';
import { fixturePath } from '../support/paths.js';
import { spawnServe } from '../support/serve.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { makeTempDir } from '../support/temp-dir.js';
import { GATE_FLOW } from '../support/workspace.js';

/**
 * A run's page (docs/dashboard.md) in a real Chromium against a real `flowrun serve` (SQLite) with a
 * real component server: live progress, items and the drawer of a failed item naming its step,
 * Rerun failed, Cancel, Delete, the JSONL download.
 */
describe.runIf(chromiumAvailable())('dashboard: run detail', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;
  let gate: Awaited<ReturnType<typeof startGate>>;

  beforeAll(async () => {
    [{ env, browser, page }, gate] = await Promise.all([openDashboard(), startGate()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gate?.close();
    await env?.close();
  });

  const detail = (status: string) => page.locator(`[data-testid="run-detail"][data-status="${status}"]`);
  const open = (runId: string) => page.goto(`${env.served.httpUrl}#/runs/${runId}`);
  /** Items 0 and 2 reach the gate; item 1 dials a closed port, so its step `g` fails. */
  const mixedInputs = () => [{ url: gate.url, item: 0 }, { url: 'http://127.0.0.1:1/', item: 1 }, { url: gate.url, item: 2 }];
  let mixedRunId: string;

  it('follows a run live from running to its end, then lists its items and timings', async () => {
    const before = gate.count();
    const run = await env.client.submit({ flow: GATE_FLOW, inputs: mixedInputs(), flowLabel: 'mixed', metadata: { team: 'blue' } });
    mixedRunId = run.runId;
    await gate.arrived(before + 2);
    await open(run.runId);
    await detail('running').waitFor();
    expect(await page.locator('[data-testid="cancel-run"]').count()).toBe(1);
    expect(await page.locator('[data-testid="run-detail"]').innerText()).toContain('team=blue');
    await page.evaluate('window.notReloaded = true');
    gate.release();
    // Partial failures: the run succeeds, its failed item shows in the counts (docs/protocol.md).
    await detail('success').waitFor();
    expect(await page.locator('[data-testid="progress-card"] [data-testid="progress"]').innerText()).toContain('2 · 1 failed / 3');
    await waitForCount(page.locator('[data-testid="item-row"]'), 3);
    await page.locator('[data-testid="metrics"]').waitFor();
    expect(await page.locator('[data-testid="cancel-run"]').count()).toBe(0);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    const failedRow = page.locator('[data-testid="item-row"][data-item-index="1"]');
    expect(await failedRow.innerText()).toContain('g: Component execution failed');
    await screenshot(page, 'run-detail');
  });

  it('filters the items by status and opens a failed item with its error and step', async () => {
    await page.locator('[data-testid="items-filter"]').selectOption('failed');
    await waitForCount(page.locator('[data-testid="item-row"]'), 1);
    await page.locator('[data-testid="item-row"][data-item-index="1"] [data-testid="open-item"]').click();
    const drawer = page.locator('[data-testid="item-drawer"]');
    await drawer.locator('[data-testid="item-error"]').waitFor();
    expect(await drawer.locator('[data-testid="item-error-step"]').innerText()).toBe('g');
    expect(await drawer.locator('[data-testid="item-input"]').innerText()).toContain('127.0.0.1:1');
    expect(await drawer.locator('[data-testid="item-status"]').innerText()).toBe('failed');
    await screenshot(page, 'run-detail-item');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
  });

  it('downloads every item as JSON Lines', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="download"]').click()]);
    expect(download.suggestedFilename()).toBe(`${mixedRunId}.jsonl`);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { itemIndex: number; status: string });
    expect(lines.map((l) => [l.itemIndex, l.status])).toEqual([[0, 'success'], [1, 'failed'], [2, 'success']]);
  });

  it('reruns the failed items: the new run opens and links the run it reruns', async () => {
    await page.locator('[data-testid="rerun-failed"]').click();
    await page.waitForURL((url) => url.hash.startsWith('#/runs/') && !url.hash.endsWith(mixedRunId));
    const rerunOf = page.locator('[data-testid="rerun-of"] a');
    await rerunOf.waitFor();
    expect(await rerunOf.innerText()).toBe(mixedRunId);
    const newRunId = decodeURIComponent(new URL(page.url()).hash.slice('#/runs/'.length));
    const status = await env.client.run(newRunId).wait();
    expect(status).toMatchObject({ rerunOf: mixedRunId, items: { total: 1 } });
    await rerunOf.click();
    await page.locator(`[data-testid="run-detail"][data-run-id="${mixedRunId}"]`).waitFor();
  });

  it('cancels a running run from its page', async () => {
    const held = await startGate();
    try {
      const run = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: held.url, item: 0 }] });
      await held.arrived(1);
      await open(run.runId);
      await detail('running').waitFor();
      await page.locator('[data-testid="cancel-run"]').click();
      await detail('cancelled').waitFor();
      expect((await env.client.run(run.runId).status()).status).toBe('cancelled');
    } finally {
      await held.close();
    }
  });

  it('deletes a finished run after a confirmation', async () => {
    const run = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: 'http://127.0.0.1:1/', item: 0 }] });
    await run.wait();
    await open(run.runId);
    await detail('failed').waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('[data-testid="delete-run"]').click();
    await page.waitForURL((url) => url.hash === '#/runs');
    const gone = await env.client.run(run.runId).status().then(() => undefined, (error: { code: number }) => error.code);
    expect(gone).toBe(-32011);
  });

  it('says that a run of no items has none, rather than timings of 0 ms', async () => {
    const run = await env.client.submit({ flow: GATE_FLOW, inputs: [] });
    await run.wait();
    await open(run.runId);
    await detail('success').waitFor();
    expect(await page.locator('[data-testid="no-items"]').innerText()).toBe('This run has no items.');
    expect(await page.locator('[data-testid="no-timings"]').innerText()).toContain('No item has finished');
    expect(await page.locator('[data-testid="items-table"]').isVisible()).toBe(false);
  });

  it('says so when the run does not exist', async () => {
    await open('no-such-run');
    expect(await page.locator('[data-testid="run-error"]').innerText()).toContain('no-such-run');
  });

  it("lists a run's child runs live as they start and finish, each linking back to its parent", async () => {
    const dir = await makeTempDir('dashboard-children');
    await writeFile(
      join(dir, 'flowrun.yaml'),
      `plugins:\n  c: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('child-runs-server.mjs'))}] }\nroutes:\n  "/c/{*component}": [{ plugin: c }]\nblobStore: { type: memory }\nstateStore: { type: memory }\n`,
    );
    const served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir });
    const client = await connect(served.url);
    const held = await startGate();
    try {
      const flow = { name: 'parent', steps: [{ id: 'p', component: '/c/parent', input: { $input: '$' } }], output: { $step: 'p' } };
      // The page opens before any child exists: they appear, run and finish on it without a reload.
      const parent = await client.submit({ flow, inputs: [{ url: held.url, item: 0 }, { url: held.url, item: 1 }] });
      await page.goto(`${served.httpUrl}#/runs/${parent.runId}`);
      await page.locator('[data-testid="run-detail"]').waitFor();
      await page.evaluate('window.notReloaded = true');
      await held.arrived(2);
      await waitForCount(page.locator('[data-testid="child-run"][data-status="running"]'), 2);
      held.release();
      await waitForCount(page.locator('[data-testid="child-run"][data-status="success"]'), 2);
      await page.locator('[data-testid="run-detail"][data-status="success"]').waitFor();
      expect(await page.evaluate('window.notReloaded')).toBe(true);
      const children = page.locator('[data-testid="child-run"] a');
      await children.first().click();
      const parentLink = page.locator('[data-testid="parent-link"]');
      await parentLink.waitFor();
      expect(await parentLink.innerText()).toBe(parent.runId);
      await page.goto(`${served.httpUrl}#/runs`);
      const childRows = page.locator(`[data-testid="run-row"] [data-testid="parent-link"]`);
      await waitForCount(childRows, 2);
    } finally {
      await held.close();
      await client.close();
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("shows the completion callback's delivery: to be sent while running, its failures, then delivered", async () => {
    // The receiver refuses the first attempt: the page shows the failure, and Check again reads the delivery.
    const receiver = await CallbackReceiver.start((n) => (n === 0 ? 503 : 200));
    const held = await startGate();
    try {
      const run = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: held.url, item: 0 }], callback: { url: receiver.url } });
      await held.arrived(1);
      await open(run.runId);
      await detail('running').waitFor();
      const callback = page.locator('[data-testid="callback"]');
      expect(await callback.innerText()).toContain('when the run ends');
      expect(await page.locator('[data-testid="callback-refresh"]').count()).toBe(0);
      held.release();
      await detail('success').waitFor();
      await receiver.waitDelivered(1, 60_000);
      await expectCallbackText('delivered');
      await page.locator('[data-testid="callback"][data-delivered="true"]').waitFor();
      expect(await callback.innerText()).toContain(receiver.url);
      expect(await page.locator('[data-testid="callback-refresh"]').count()).toBe(0);
      // A page opened after a failed attempt says so (its delivery is read from the run).
      const failing = await CallbackReceiver.start(() => 500);
      try {
        const other = await env.client.submit({ flow: GATE_FLOW, inputs: [{ url: held.url, item: 0 }], callback: { url: failing.url } });
        await other.wait();
        await waitFor(() => failing.received.length >= 1, { timeoutMs: 30_000, what: 'a failed callback attempt' });
        await open(other.runId);
        await detail('success').waitFor();
        await expectCallbackText('HTTP 500');
      } finally {
        await failing.close();
      }
    } finally {
      await held.close();
      await receiver.close();
    }
  });

  /** Waits (bounded) until the callback's text contains `text`, reading it again with Check again meanwhile. */
  async function expectCallbackText(text: string): Promise<void> {
    const callback = page.locator('[data-testid="callback"]');
    const refresh = page.locator('[data-testid="callback-refresh"]');
    await until(
      async () => {
        if ((await callback.innerText()).includes(text)) return true;
        if ((await refresh.count()) > 0) await refresh.click();
        await page.locator('[data-testid="callback-refresh"][disabled]').waitFor({ state: 'detached' });
        return undefined;
      },
      { timeoutMs: 30_000, what: `the callback reading "${text}"` },
    );
  }

  it('fits a 390 px wide screen, and reads in the dark scheme', async () => {
    for (const options of [{ width: 390 }, { colorScheme: 'dark' as const }]) {
      const other = await openPage(browser, options);
      try {
        await other.page.goto(`${env.served.httpUrl}#/runs/${mixedRunId}`);
        await other.page.locator('[data-testid="item-row"]').first().waitFor();
        if (options.width !== undefined) expect(await other.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
        await screenshot(other.page, options.width !== undefined ? 'run-detail-390' : 'run-detail-dark');
      } finally {
        await other.context.close();
      }
    }
  });
});
