import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type FlowrunClient, type RunHandle } from '../../src/client/index.js';
import { chromiumAvailable, launchBrowser, openPage, screenshot } from '../support/browser.js';
import { startGate } from '../support/gate.js';
import { fixturePath } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { GATE_FLOW } from '../support/workspace.js';

/**
 * Signing in to the dashboard on a `flowrun serve` with named tokens (docs/dashboard.md,
 * docs/security.md): the token form, a refused token, where the token is kept (sessionStorage, no
 * URL, no log line), what each role is offered, and namespaces kept apart.
 */
const SECRETS = {
  aViewer: 'dash-a-viewer-secret',
  aSubmitter: 'dash-a-submitter-secret',
  aOperator: 'dash-a-operator-secret',
  bSubmitter: 'dash-b-submitter-secret',
  admin: 'dash-admin-secret',
};

describe.runIf(chromiumAvailable())('dashboard: signing in with named tokens', () => {
  let dir: string;
  let served: ServedProcess;
  let browser: Browser;
  let gate: Awaited<ReturnType<typeof startGate>>;
  const clients: FlowrunClient[] = [];
  let aRun: RunHandle;
  let bRun: RunHandle;

  beforeAll(async () => {
    dir = await makeTempDir('dashboard-auth');
    await writeFile(
      join(dir, 'flowrun.yaml'),
      `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('gate-server.mjs'))}] }
routes:
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: memory }
stateStore: { type: memory }
auth:
  tokens:
    - { name: a-viewer, token: ${SECRETS.aViewer}, namespace: team-a, role: viewer }
    - { name: a-submitter, token: ${SECRETS.aSubmitter}, namespace: team-a, role: submitter }
    - { name: a-operator, token: ${SECRETS.aOperator}, namespace: team-a, role: operator }
    - { name: b-submitter, token: ${SECRETS.bSubmitter}, namespace: team-b, role: submitter }
    - { name: platform, token: ${SECRETS.admin}, namespace: ops, role: admin }
`,
    );
    [served, browser, gate] = await Promise.all([spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir }), launchBrowser(), startGate()]);
    const [a, b] = await Promise.all([connect(served.url, { token: SECRETS.aSubmitter }), connect(served.url, { token: SECRETS.bSubmitter })]);
    clients.push(a, b);
    // A's run stays running (held at the gate) so Cancel would be offered; B's run is B's only.
    aRun = await a.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }], flowLabel: 'team-a-run' });
    bRun = await b.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 1 }], flowLabel: 'team-b-run' });
    await gate.arrived(2);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(clients.map((c) => c.close()));
    await gate?.close();
    await served?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh browser context recording every URL the page asks for, HTTP and WebSocket. */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page; urls: string[] }> {
    const { context, page } = await openPage(browser);
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('websocket', (socket) => urls.push(socket.url()));
    return { context, page, urls };
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.locator('[data-testid="token-input"]').fill(token);
    await page.locator('[data-testid="token-submit"]').click();
  }

  const row = (page: Page, runId: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);

  it('asks for a token, says clearly when it is refused, and keeps an accepted one in sessionStorage only', async () => {
    const { context, page, urls } = await freshPage();
    try {
      await page.goto(served.httpUrl);
      await page.locator('[data-testid="token-form"]').waitFor();
      await screenshot(page, 'sign-in');
      await signIn(page, 'not-a-token');
      expect(await page.locator('[data-testid="token-error"]').innerText()).toContain('This token was refused by the server');
      await signIn(page, SECRETS.aViewer);
      await row(page, aRun.runId).waitFor();
      expect(await page.locator('[data-testid="namespace"]').innerText()).toBe('team-a');
      expect(await page.locator('[data-testid="identity"]').innerText()).toContain('a-viewer');
      expect(await page.evaluate("sessionStorage.getItem('flowrun.token')")).toBe(SECRETS.aViewer);
      expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(SECRETS.aViewer);
      expect(page.url()).not.toContain(SECRETS.aViewer);
      expect(urls.some((u) => u.startsWith('ws:'))).toBe(true);
      expect(urls.filter((u) => u.includes(SECRETS.aViewer) || u.includes(Buffer.from(SECRETS.aViewer).toString('base64url')))).toEqual([]);
      expect(served.stderr()).not.toContain(SECRETS.aViewer);
      // A reload keeps the tab signed in; Sign out forgets the token.
      await page.reload();
      await row(page, aRun.runId).waitFor();
      await page.locator('[data-testid="sign-out"]').click();
      await page.locator('[data-testid="token-form"]').waitFor();
      expect(await page.evaluate("sessionStorage.getItem('flowrun.token')")).toBeNull();
    } finally {
      await context.close();
    }
  });

  it("shows a viewer its namespace's runs only, and no Cancel button", async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(served.httpUrl);
      await signIn(page, SECRETS.aViewer);
      await row(page, aRun.runId).waitFor();
      expect(await row(page, aRun.runId).getAttribute('data-status')).toBe('running');
      expect(await row(page, bRun.runId).count()).toBe(0);
      expect(await page.locator('[data-testid="cancel-run"]').count()).toBe(0);
      await page.goto(`${served.httpUrl}#/runs/${bRun.runId}`);
      expect(await page.locator('[data-testid="run-error"]').innerText()).toContain(bRun.runId);
      await page.goto(`${served.httpUrl}#/runs/${aRun.runId}`);
      await page.locator('[data-testid="run-detail"][data-status="running"]').waitFor();
      expect(await page.locator('[data-testid="cancel-run"]').count()).toBe(0);
      expect(await page.locator('[data-testid="delete-run"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('offers an operator Cancel on the same run', async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(served.httpUrl);
      await signIn(page, SECRETS.aOperator);
      await row(page, aRun.runId).locator('[data-testid="cancel-run"]').waitFor();
      expect(await row(page, bRun.runId).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('lets an admin switch the namespace shown', async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(served.httpUrl);
      await signIn(page, SECRETS.admin);
      await row(page, aRun.runId).waitFor();
      await row(page, bRun.runId).waitFor();
      await page.locator('[data-testid="namespace-input"]').fill('team-b');
      await page.locator('[data-testid="namespace-apply"]').click();
      await row(page, aRun.runId).waitFor({ state: 'detached' });
      await row(page, bRun.runId).waitFor();
    } finally {
      await context.close();
    }
  });

  it('asks for a token again when the server no longer accepts it after a restart', async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(served.httpUrl);
      await signIn(page, SECRETS.aViewer);
      await row(page, aRun.runId).waitFor();
      const port = new URL(served.httpUrl).port;
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await served.stop();
      const config = join(dir, 'flowrun.yaml');
      // The same config without the viewer's token (the memory store starts empty: this test comes last).
      await writeFile(config, (await readFile(config, 'utf8')).replace(/^.*a-viewer.*\n/m, ''));
      served = await spawnServe(['--config', config, '--port', port], { cwd: dir });
      await page.locator('[data-testid="token-error"]').waitFor();
      expect(await page.evaluate("sessionStorage.getItem('flowrun.token')")).toBeNull();
    } finally {
      await context.close();
    }
  });
});
