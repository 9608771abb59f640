import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodesList } from '../../protocol/index.js';
import { chromiumAvailable, openDashboard, openPage, screenshot } from '../support/browser.js';
import { spawnServe } from '../support/serve.js';
import type { ServedWorkspace } from '../support/served-workspace.js';
import { makeTempDir } from '../support/temp-dir.js';
import { killWorkers, startWorker } from '../support/workers.js';

/**
 * The Cluster page (docs/dashboard.md) in a real Chromium against a real `flowrun serve` (one
 * node) with real workers dialled in: the node and the workers are listed, and read again on
 * Refresh (there is no event for them, and the page polls nothing).
 */
describe.runIf(chromiumAvailable())('dashboard: cluster', () => {
  let env: ServedWorkspace;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ env, browser, page } = await openDashboard());
    await startWorker(env.served.url, 'dash-worker-1', { pool: 'gpu', capacity: 4 });
  }, 60_000);
  afterAll(async () => {
    await killWorkers();
    await browser?.close();
    await env?.close();
  });

  const workerNames = () => page.locator('[data-testid="worker-row"] td:nth-child(2)').allInnerTexts();

  it('lists the one node of a single serve and the worker dialled in', async () => {
    await page.goto(`${env.served.httpUrl}#/cluster`);
    await page.locator('[data-testid="worker-row"]').first().waitFor();
    const nodes = page.locator('[data-testid="node-row"]');
    expect(await nodes.count()).toBe(1);
    expect(await nodes.first().getAttribute('data-alive')).toBe('true');
    const node = (await env.client.sendRequest(NodesList, {})).nodes[0]!;
    expect(await nodes.first().getAttribute('data-node-id')).toBe(node.nodeId);
    expect(await nodes.first().innerText()).toContain(String(node.pid));
    expect(await workerNames()).toEqual(['dash-worker-1']);
    const row = await page.locator('[data-testid="worker-row"]').first().innerText();
    expect(row).toContain('gpu');
    expect(row).toContain('0 / 4');
    await screenshot(page, 'cluster');
  });

  it('shows a worker that dialled in since only once Refresh is pressed', async () => {
    await startWorker(env.served.url, 'dash-worker-2', { pool: 'gpu', capacity: 2 });
    // Nothing is polled: the page still shows what it read.
    expect(await workerNames()).toEqual(['dash-worker-1']);
    await page.locator('[data-testid="cluster-refresh"]').click();
    await page.locator('[data-testid="worker-row"]', { hasText: 'dash-worker-2' }).waitFor();
    expect((await workerNames()).sort()).toEqual(['dash-worker-1', 'dash-worker-2']);
  });

  it('tells a viewer token that the page needs an admin one, and New run that it needs a submitter', async () => {
    const dir = await makeTempDir('dashboard-viewer');
    await writeFile(
      join(dir, 'flowrun.yaml'),
      'blobStore: { type: memory }\nstateStore: { type: memory }\nauth:\n  tokens:\n    - { name: watcher, token: viewer-secret, namespace: team-a, role: viewer }\n',
    );
    const served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir });
    const { context, page: viewer } = await openPage(browser);
    try {
      await viewer.goto(`${served.httpUrl}#/cluster`);
      await viewer.locator('[data-testid="token-input"]').fill('viewer-secret');
      await viewer.locator('[data-testid="token-submit"]').click();
      const note = viewer.locator('[data-testid="needs-admin"]');
      await note.waitFor();
      expect(await note.innerText()).toContain('role viewer');
      expect(await viewer.locator('[data-testid="nodes-table"]').count()).toBe(0);
      await viewer.goto(`${served.httpUrl}#/new`);
      await viewer.locator('[data-testid="needs-submitter"]').waitFor();
      expect(await viewer.locator('[data-testid="submit-run"]').isDisabled()).toBe(true);
    } finally {
      await context.close();
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
