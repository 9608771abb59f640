import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { loadFlowFile } from '../../src/flow/index.js';
import { ROOT, requireBuilt } from '../support/paths.js';
import { allResults } from '../support/run-results.js';
import { spawnServe } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { killWorkers, spawnWorker, startWorker, workersUrl } from '../support/workers.js';

/**
 * The worker protocol as docs/workers.md states it: the example worker written from those docs
 * alone (plain JavaScript, only `ws`) runs a flow through a real serve; register's params are
 * checked; a token is required when serve has one; a worker reconnects to a restarted serve.
 */
const PLAIN_WORKER = join(ROOT, 'examples/workers/plain-worker.mjs');
let dir: string;

beforeAll(async () => {
  requireBuilt('dist/src/sdk/index.js', 'dist/src/cli/bin.js');
  dir = await makeTempDir('worker-protocol');
});
afterAll(async () => {
  await killWorkers();
  await rm(dir, { recursive: true, force: true });
});

/** A JSON-RPC exchange over a raw WebSocket: sends a request, resolves with the whole answer. */
async function rawSession(url: string) {
  const socket = new WebSocket(workersUrl(url));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const answers = new Map<number, (message: Record<string, unknown>) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id: number };
    answers.get(message.id)?.(message);
  });
  return {
    request: (method: string, params: unknown) =>
      new Promise<Record<string, unknown>>((resolve) => {
        answers.set(++id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      }),
    close: () => socket.close(),
  };
}

describe('the worker protocol', () => {
  it('runs a flow through the plain-JavaScript worker written from docs/workers.md, callbacks included, and drains it', async () => {
    const served = await spawnServe(['--config', join(ROOT, 'examples/workers/flowrun.yaml')], { cwd: dir });
    const worker = spawn(process.execPath, [PLAIN_WORKER, workersUrl(served.url), '--pool', 'plain', '--capacity', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    worker.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
    try {
      const registration = await new Promise<string>((resolve) => createInterface({ input: worker.stdout }).once('line', resolve));
      expect(JSON.parse(registration)).toMatchObject({ workerId: expect.stringMatching(/^w-/), pool: 'plain' });
      const client = await connect(served.url);
      const flow = await loadFlowFile(join(ROOT, 'examples/workers/flow.yaml'));
      const texts = Array.from({ length: 50 }, (_, i) => `item ${i}`);
      const run = await client.submit({ flow, inputs: texts.map((text) => ({ text })), maxConcurrency: 8, wait: true });
      expect(run.submitted?.items).toMatchObject({ success: 50, failed: 0 });
      const results = await allResults(run, 100);
      for (const [i, r] of results.entries()) {
        const value = (r.result as { value: { text: string; blobId: string } }).value;
        expect(value.text).toBe(`ITEM ${i}`);
        expect((await client.getBlob(value.blobId)).data).toEqual({ text: `ITEM ${i}`, attempt: 1 });
      }
      await client.close();
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      worker.kill('SIGKILL');
      await served.stop();
    }
    expect(stderr).toBe('');
  }, 60_000);

  it('answers bad workers/register params with -32602 naming the field, a second register with -32013', async () => {
    const config = join(dir, 'protocol.yaml');
    await writeFile(config, 'plugins: {}\nroutes: {}\nblobStore: { type: memory }\nstateStore: { type: memory }\n');
    const served = await spawnServe(['--config', config]);
    try {
      const session = await rawSession(served.url);
      const components = [{ component: '/x' }];
      const badCapacity = await session.request('workers/register', { name: 'w', components, capacity: 0 });
      expect(badCapacity.error).toMatchObject({ code: -32602, message: expect.stringContaining('field "capacity"') });
      const noComponents = await session.request('workers/register', { name: 'w', components: [] });
      expect(noComponents.error).toMatchObject({ code: -32602, message: expect.stringContaining('field "components"') });
      const noName = await session.request('workers/register', { components });
      expect(noName.error).toMatchObject({ code: -32602, message: expect.stringContaining('field "name"') });
      const early = await session.request('workers/drain', {});
      expect(early.error).toMatchObject({ code: -32002 });
      const ok = await session.request('workers/register', { name: 'w', components });
      expect(ok.result).toMatchObject({ workerId: expect.stringMatching(/^w-/), node: expect.any(String) });
      const again = await session.request('workers/register', { name: 'w', components });
      expect(again.error).toMatchObject({ code: -32013 });
      expect((await session.request('workers/drain', {})).result).toEqual({ inFlight: 0 });
      session.close();
    } finally {
      await served.stop();
    }
  }, 30_000);

  it('refuses a worker without the token of serve (it exits 1), accepts one with it', async () => {
    const config = join(dir, 'token.yaml');
    await writeFile(config, 'plugins: { p: { type: workers, pool: p } }\nroutes: { "/p/{*component}": [{ plugin: p }] }\nblobStore: { type: memory }\nstateStore: { type: memory }\n');
    const served = await spawnServe(['--config', config, '--token', 'sesame']);
    try {
      const refused = spawnWorker(served.url, 'no-token', { pool: 'p' });
      expect((await refused.exited).code).toBe(1);
      expect(refused.stderr()).toContain('HTTP 401');
      const accepted = await startWorker(served.url, 'with-token', { pool: 'p', token: 'sesame' });
      expect(accepted.registrations).toHaveLength(1);
    } finally {
      await served.stop();
    }
  }, 30_000);

  it('reconnects to a restarted serve and takes calls again', async () => {
    const config = join(dir, 'restart.yaml');
    await writeFile(config, 'plugins: { p: { type: workers, pool: p } }\nroutes: { "/p/{*component}": [{ plugin: p }] }\nblobStore: { type: memory }\nstateStore: { type: memory }\n');
    const first = await spawnServe(['--config', config]);
    const port = new URL(first.url).port;
    const worker = await startWorker(first.url, 'r1', { pool: 'p' });
    await first.stop();
    const second = await spawnServe(['--config', config, '--port', port]);
    try {
      await worker.registered(2);
      expect(worker.registrations[1]!.node).not.toBe(worker.registrations[0]!.node);
      const client = await connect(second.url);
      const flow = { steps: [{ id: 'w', component: '/p/work', input: { i: { $input: 'i' } } }], output: { $step: 'w', path: 'worker' } };
      const run = await client.submit({ flow, inputs: [{ i: 1 }, { i: 2 }], wait: true });
      expect(run.submitted?.items.success).toBe(2);
      await client.close();
    } finally {
      await second.stop();
    }
  }, 60_000);
});
