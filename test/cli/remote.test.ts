import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult, RunStatus } from '../../protocol/index.js';
import { connect, ConnectionClosedError } from '../../src/client/index.js';
import { packageVersion } from '../../src/serve/package-version.js';
import { flowrun } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { freePort } from '../support/ports.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { createWorkspace, ECHO_FLOW, GATE_FLOW, type Workspace } from '../support/workspace.js';

const N = 2000;
const COUNTS_ALL_SUCCESS = { total: N, pending: 0, running: 0, success: N, failed: 0, cancelled: 0 };

let ws: Workspace;
beforeAll(async () => {
  ws = await createWorkspace();
});
afterAll(async () => {
  await ws.remove();
});

const json = (stdout: string) => JSON.parse(stdout.trim()) as RunStatus & { runs?: RunStatus[] };

describe('flowrun serve, driven by the client library and by the remote CLI', () => {
  let served: ServedProcess;
  beforeAll(async () => {
    served = await spawnServe(['--config', ws.config]);
  });
  afterAll(async () => {
    expect(await served.stop()).toBe(0);
  });

  it('prints {"url"} once listening and answers GET /health', async () => {
    expect(served.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(served.httpUrl + 'health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: packageVersion(), uptimeMs: expect.any(Number), nodeId: expect.any(String), membership: { state: 'single', lastHeartbeatAt: expect.any(String) } });
    expect((await fetch(served.httpUrl + 'metrics')).status).toBe(200);
  });

  it('runs 2,000 items from the client library: exact counters, results byIndex and byCompletion in pages', async () => {
    const client = await connect(served.url);
    try {
      const inputs = Array.from({ length: N }, (_, i) => ({ i }));
      const run = await client.submit({ flow: ECHO_FLOW, inputs, maxConcurrency: 32 });
      const done = await run.wait();
      expect(done.status).toBe('success');
      expect(done.items).toEqual(COUNTS_ALL_SUCCESS);

      const byIndex: ItemResult[] = [];
      const offsets: number[] = [];
      for (let offset: number | undefined = 0; offset !== undefined; ) {
        offsets.push(offset);
        const page: { results: ItemResult[]; nextOffset?: number } = await run.results({ order: 'byIndex', offset, limit: 300 });
        byIndex.push(...page.results);
        offset = page.nextOffset;
      }
      expect(offsets).toEqual([0, 300, 600, 900, 1200, 1500, 1800]);
      expect(byIndex.map((r) => r.itemIndex)).toEqual(inputs.map((_, i) => i));
      expect(byIndex.map((r) => r.result)).toEqual(inputs.map((value) => ({ outcome: 'success', value })));

      const byCompletion: ItemResult[] = [];
      for (let offset: number | undefined = 0; offset !== undefined; ) {
        const page: { results: ItemResult[]; nextOffset?: number } = await run.results({ order: 'byCompletion', offset, limit: 700 });
        byCompletion.push(...page.results);
        offset = page.nextOffset;
      }
      expect(byCompletion).toHaveLength(N);
      expect(new Set(byCompletion.map((r) => r.itemIndex)).size).toBe(N);
      const finished = byCompletion.map((r) => Date.parse(r.completedAt!));
      expect(finished).toEqual([...finished].sort((a, b) => a - b));
      for (const r of byCompletion) expect(r.result).toEqual({ outcome: 'success', value: { i: r.itemIndex } });

      expect(await run.result()).toEqual(inputs.map((value) => ({ outcome: 'success', value })));
    } finally {
      await client.close();
    }
  });

  it('runs 2,000 items from `flowrun submit --wait`; get, list and the client library see the same run', async () => {
    const file = join(ws.dir, 'inputs.jsonl');
    await writeFile(file, Array.from({ length: N }, (_, i) => JSON.stringify({ n: i })).join('\n') + '\n');
    const submitted = await flowrun(['submit', '--url', served.url, '--flow', ws.echoFlow, '--inputs', file, '--wait', '--max-concurrency', '16']);
    expect(submitted.code).toBe(0);
    const status = json(submitted.stdout);
    // The run id comes on stderr as soon as the run is accepted, and nothing else is said.
    expect(submitted.stderr).toBe(`submitted run ${status.runId} (${N} item(s))\n`);
    expect(status).toMatchObject({ status: 'success', flowName: 'echo', items: COUNTS_ALL_SUCCESS });
    expect(status.results).toBeUndefined();

    const byCompletion = await flowrun(['get', status.runId, '--url', served.url, '--results', '--order', 'byCompletion']);
    expect(byCompletion.code).toBe(0);
    const completed = json(byCompletion.stdout);
    expect(completed.results).toHaveLength(N);
    expect(completed.nextOffset).toBeUndefined();
    expect(new Set(completed.results!.map((r) => r.itemIndex)).size).toBe(N);

    const byIndex = json((await flowrun(['get', status.runId, '--url', served.url, '--results'])).stdout);
    expect(byIndex.results!.map((r) => r.result)).toEqual(Array.from({ length: N }, (_, n) => ({ outcome: 'success', value: { n } })));

    const plain = await flowrun(['get', status.runId, '--url', served.url, '--wait']);
    expect(plain.code).toBe(0);
    expect(json(plain.stdout)).toEqual(status);

    const listed = await flowrun(['list', '--url', served.url, '--status', 'success']);
    expect(listed.code).toBe(0);
    expect(json(listed.stdout).runs!.map((r) => r.runId)).toContain(status.runId);
    const failed = await flowrun(['list', '--url', served.url, '--status', 'failed,cancelled']);
    expect(json(failed.stdout).runs!.map((r) => r.runId)).not.toContain(status.runId);

    const client = await connect(served.url);
    try {
      expect((await client.run(status.runId).status()).items).toEqual(COUNTS_ALL_SUCCESS);
    } finally {
      await client.close();
    }
  });

  it('cancels a running run with `flowrun cancel`; `get --wait` then exits 1 with it cancelled', async () => {
    const gate = await startGate();
    try {
      const file = join(ws.dir, 'gated.jsonl');
      await writeFile(file, [0, 1, 2].map((item) => JSON.stringify({ url: gate.url, item })).join('\n'));
      const submitted = await flowrun(['submit', '--url', served.url, '--flow', ws.gateFlow, '--inputs', file]);
      expect(submitted.code).toBe(0);
      const { runId } = json(submitted.stdout);
      await gate.arrived(3);

      const cancelled = await flowrun(['cancel', runId, '--url', served.url]);
      expect(cancelled.code).toBe(0);
      expect(json(cancelled.stdout).runId).toBe(runId);

      const waited = await flowrun(['get', runId, '--url', served.url, '--wait']);
      expect(waited.code).toBe(1);
      expect(json(waited.stdout)).toMatchObject({ status: 'cancelled', items: { total: 3, cancelled: 3, success: 0 } });
      expect((await flowrun(['list', '--url', served.url, '--status', 'cancelled'])).stdout).toContain(runId);
    } finally {
      await gate.close();
    }
  });

  it('names an unknown run and exits 2', async () => {
    const r = await flowrun(['get', 'no-such-run', '--url', served.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no-such-run');
    expect(r.stdout).toBe('');
  });

  it('refuses usage mistakes with exit 2 before connecting', async () => {
    for (const args of [
      ['submit', '--url', served.url, '--flow', ws.echoFlow],
      ['submit', '--url', served.url, '--input-json', '{}'],
      ['get', '--url', served.url],
      ['get', 'r', '--url', served.url, '--results', '--order', 'sideways'],
      ['list', '--url', served.url, '--status', 'done'],
      ['list', '--url', served.url, '--limit', '0'],
    ]) {
      const r = await flowrun(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
  });
});

describe('flowrun serve with a token', () => {
  const token = 'tok-' + Math.random().toString(36).slice(2);
  let served: ServedProcess;
  beforeAll(async () => {
    served = await spawnServe(['--config', ws.config, '--token', token]);
  });
  afterAll(async () => {
    await served.stop();
  });

  it('refuses the CLI without a token (401, exit 2, the URL named) and runs nothing', async () => {
    const r = await flowrun(['submit', '--url', served.url, '--flow', ws.echoFlow, '--input-json', '{"x":1}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(served.url);
    expect(r.stderr).toContain('401');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const client = await connect(served.url, { token });
    try {
      expect((await client.list()).runs).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('refuses a wrong token with 401 and accepts the right one from --token or FLOWRUN_TOKEN', async () => {
    const wrong = await flowrun(['list', '--url', served.url, '--token', token + 'x']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/401/);
    const flag = await flowrun(['list', '--url', served.url, '--token', token]);
    expect(flag.code).toBe(0);
    expect(json(flag.stdout).runs).toEqual([]);
    const env = await flowrun(['list', '--url', served.url], { env: { FLOWRUN_TOKEN: token } });
    expect(env.code).toBe(0);
  });

  it('takes its token from FLOWRUN_TOKEN too', async () => {
    const fromEnv = await spawnServe(['--config', ws.config], { env: { FLOWRUN_TOKEN: token } });
    try {
      await expect(connect(fromEnv.url)).rejects.toMatchObject({ status: 401 });
      const client = await connect(fromEnv.url, { token });
      await client.close();
    } finally {
      expect(await fromEnv.stop()).toBe(0);
    }
  });
});

describe('flowrun serve: start and stop', () => {
  it('refuses to listen on a non-loopback address without a token (exit 2, clear message)', async () => {
    const r = await flowrun(['serve', '--host', '0.0.0.0', '--port', '0', '--config', ws.config]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('refusing to listen on 0.0.0.0 without a token');
    expect(r.stderr).toContain('FLOWRUN_TOKEN');
  });

  it('refuses bad options with exit 2', async () => {
    expect((await flowrun(['serve', '--port', 'eighty'])).code).toBe(2);
    expect((await flowrun(['serve', '--max-in-flight', '0'])).code).toBe(2);
    expect((await flowrun(['serve', '--port', '0', '--token', ''])).code).toBe(2);
  });

  it('exits 2 naming the URL when nothing listens there', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/`;
    const r = await flowrun(['list', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`flowrun list: cannot connect to ${url}: connection refused (is \`flowrun serve\` running there?)`);
  });

  it('keeps unfinished runs across a restart (sqlite at ./.flowrun/state.db by default) and resumes them', async () => {
    const durable = await createWorkspace({ durable: true });
    const gate = await startGate();
    try {
      const first = await spawnServe(['--config', durable.config], { cwd: durable.dir });
      const client = await connect(first.url);
      const run = await client.submit({ flow: GATE_FLOW, inputs: [0, 1, 2].map((item) => ({ url: gate.url, item })) });
      await gate.arrived(3);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(existsSync(join(durable.dir, '.flowrun/state.db'))).toBe(true);
      gate.release();

      const second = await spawnServe(['--config', durable.config], { cwd: durable.dir });
      try {
        const again = await connect(second.url);
        const done = await again.run(run.runId).wait();
        expect(done).toMatchObject({ runId: run.runId, status: 'success', items: { total: 3, success: 3 } });
        expect((await again.run(run.runId).result()).map((r) => r.outcome === 'success' && (r.value as { item: number }).item)).toEqual([0, 1, 2]);
        await again.close();
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await gate.close();
      await durable.remove();
    }
  });

  it('on SIGTERM closes its connections, stops the runtime and exits 0', async () => {
    const served = await spawnServe(['--config', ws.config]);
    const gate = await startGate();
    try {
      const client = await connect(served.url);
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const waiting = run.wait().catch((e: unknown) => e);
      const closed = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
      expect(await waiting).toBeInstanceOf(ConnectionClosedError);
      expect((await closed)?.message).toMatch(/code 1001/);
    } finally {
      await gate.close();
    }
  });
});
