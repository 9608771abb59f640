import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type FlowrunClient, type ItemResult } from '../../src/client/index.js';
import { WorkersList } from '../../protocol/index.js';
import { flowrun } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { requireBuilt } from '../support/paths.js';
import { allResults } from '../support/run-results.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { killWorkers, startWorker } from '../support/workers.js';

/**
 * Worker pools on real parts: one `flowrun serve`, SDK worker processes of several pools dialling
 * in at /workers, runs submitted by a client. Each pool is used by one test, so tests do not share
 * workers.
 */
let dir: string;
let served: ServedProcess;
let client: FlowrunClient;

/** What the counting worker answers. */
interface WorkOutput {
  i: number;
  worker: string;
  concurrent: number;
  attempt: number;
}

const POOLS = ['spread', 'other', 'kill', 'join', 'drain', 'cancel', 'nest'];

beforeAll(async () => {
  requireBuilt('dist/src/sdk/index.js', 'dist/src/cli/bin.js');
  dir = await makeTempDir('workers');
  const config = join(dir, 'flowrun.yaml');
  const plugins = POOLS.map((pool) => `  ${pool}: { type: workers, pool: ${pool} }`).join('\n');
  const routes = POOLS.map((pool) => `  "/${pool}/{*component}": [{ plugin: ${pool} }]`).join('\n');
  await writeFile(
    config,
    `plugins:
${plugins}
  empty: { type: workers, pool: empty, waitForWorkerMs: 300 }
  chaos: { type: workers, pool: chaos, transportRetries: 10 }
routes:
${routes}
  "/empty/{*component}": [{ plugin: empty }]
  "/chaos/{*component}": [{ plugin: chaos }]
blobStore: { type: memory }
stateStore: { type: memory }
`,
  );
  served = await spawnServe(['--config', config]);
  client = await connect(served.url);
});

afterAll(async () => {
  await client?.close();
  await killWorkers();
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

const workFlow = (pool: string, extra: Record<string, unknown> = {}) => ({
  steps: [{ id: 'w', component: `/${pool}/work`, input: { i: { $input: 'i' }, ...extra } }],
  output: { $step: 'w' },
});

function outputsOf(results: ItemResult[]): WorkOutput[] {
  return results.map((r) => {
    expect(r.result?.outcome).toBe('success');
    return (r.result as { value: WorkOutput }).value;
  });
}

function countBy<T>(values: T[], key: (v: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(key(v), (counts.get(key(v)) ?? 0) + 1);
  return counts;
}

describe('worker pools', () => {
  it('spreads a 10,000-item run over the workers of two pools, never above a worker\'s capacity', async () => {
    const capacities = { s1: 2, s2: 4, s3: 8 };
    await Promise.all(Object.entries(capacities).map(([name, capacity]) => startWorker(served.url, name, { pool: 'spread', capacity })));
    await Promise.all(['o1', 'o2'].map((name) => startWorker(served.url, name, { pool: 'other', capacity: 4 })));
    const n = 10_000;
    const flow = {
      steps: [
        { id: 'w', component: '/spread/work', input: { i: { $input: 'i' } } },
        { id: 'o', component: '/other/other', input: { i: { $step: 'w', path: 'i' } } },
      ],
      output: { w: { $step: 'w' }, o: { $step: 'o' } },
    };
    const run = await client.submit({ flow, inputs: Array.from({ length: n }, (_, i) => ({ i })), maxConcurrency: 32 });
    const final = await run.wait();
    expect(final.items).toMatchObject({ success: n, failed: 0, cancelled: 0 });

    const outputs = (await allResults(run, 2000)).map((r) => (r.result as { value: { w: WorkOutput; o: WorkOutput } }).value);
    expect(outputs.map((o) => o.w.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    const spread = countBy(outputs, (o) => o.w.worker);
    const other = countBy(outputs, (o) => o.o.worker);
    for (const name of ['s1', 's2', 's3']) expect(spread.get(name)).toBeGreaterThan(0);
    for (const name of ['o1', 'o2']) expect(other.get(name)).toBeGreaterThan(0);
    for (const o of outputs) {
      expect(o.w.concurrent).toBeLessThanOrEqual(capacities[o.w.worker as keyof typeof capacities]);
      expect(o.o.concurrent).toBeLessThanOrEqual(4);
    }

    const listed = await flowrun(['workers', '--json', '--url', served.url]);
    expect(listed.code).toBe(0);
    const { workers } = JSON.parse(listed.stdout) as { workers: Array<{ name: string; pool: string; callsDone: number; callsFailed: number; inFlight: number; capacity: number; components: string[] }> };
    const byName = new Map(workers.map((w) => [w.name, w]));
    for (const [name, capacity] of Object.entries(capacities)) {
      expect(byName.get(name)).toMatchObject({ pool: 'spread', capacity, inFlight: 0, callsFailed: 0, callsDone: spread.get(name), components: ['/work', '/other'] });
    }

    const metrics = await (await fetch(`${served.httpUrl}metrics`)).text();
    expect(metrics).toContain('flowrun_workers{pool="spread",state="ready"} 3');
    expect(metrics).toContain(`flowrun_worker_calls_total{pool="spread",outcome="success"} ${n}`);
    expect(metrics).toContain(`flowrun_worker_calls_total{pool="other",outcome="success"} ${n}`);
  }, 120_000);

  it('retries the calls of a worker killed mid-run on the others, with attempt + 1', async () => {
    const victim = await startWorker(served.url, 'k1', { pool: 'kill', capacity: 8 });
    await Promise.all(['k2', 'k3'].map((name) => startWorker(served.url, name, { pool: 'kill', capacity: 8 })));
    const gate = await startGate();
    try {
      const n = 300;
      const run = await client.submit({ flow: workFlow('kill', { gate: gate.url }), inputs: Array.from({ length: n }, (_, i) => ({ i })), maxConcurrency: 24 });
      await gate.arrived(24); // every worker holds 8 calls
      victim.child.kill('SIGKILL');
      await victim.exited;
      gate.release();
      const final = await run.wait();
      expect(final.items).toEqual(expect.objectContaining({ success: n, failed: 0, cancelled: 0, pending: 0, running: 0 }));

      const results = await allResults(run, 1000);
      expect(results.map((r) => r.itemIndex)).toEqual(Array.from({ length: n }, (_, i) => i));
      const outputs = outputsOf(results);
      expect(outputs.some((o) => o.worker === 'k1')).toBe(false); // the victim answered nothing
      const retried = results.filter((r) => (r.attempts ?? 1) >= 2);
      expect(retried).toHaveLength(8); // exactly the calls it held
      for (const r of retried) expect((r.result as { value: WorkOutput }).value.attempt).toBe(2);
    } finally {
      await gate.close();
    }
  }, 60_000);

  it('gives load to a worker that joins mid-run', async () => {
    await startWorker(served.url, 'j1', { pool: 'join', capacity: 2 });
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: workFlow('join', { gate: gate.url }), inputs: Array.from({ length: 20 }, (_, i) => ({ i })), maxConcurrency: 8 });
      await gate.arrived(2); // j1 is full; the other items wait for a worker
      await startWorker(served.url, 'j2', { pool: 'join', capacity: 3 });
      await gate.arrived(5); // j2 took three of them
      gate.release();
      const final = await run.wait();
      expect(final.items.success).toBe(20);
      const shares = countBy(outputsOf(await allResults(run, 100)), (o) => o.worker);
      expect(shares.get('j2')).toBeGreaterThanOrEqual(3);
    } finally {
      await gate.close();
    }
  }, 60_000);

  it('drains a worker on SIGTERM: its running calls finish, it gets no new ones, it exits 0', async () => {
    const leaving = await startWorker(served.url, 'd1', { pool: 'drain', capacity: 2 });
    await startWorker(served.url, 'd2', { pool: 'drain', capacity: 2 });
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: workFlow('drain', { gate: gate.url }), inputs: Array.from({ length: 12 }, (_, i) => ({ i })), maxConcurrency: 4 });
      await gate.arrived(4); // both workers are full
      leaving.child.kill('SIGTERM');
      const drainingSeen = async (): Promise<boolean> => {
        const { workers } = await client.sendRequest(WorkersList, {});
        return workers.some((w) => w.name === 'd1' && w.draining);
      };
      for (let k = 0; k < 400 && !(await drainingSeen()); k++) await new Promise((r) => setTimeout(r, 25));
      expect(await drainingSeen()).toBe(true);
      gate.release();
      const final = await run.wait();
      expect(final.items.success).toBe(12);
      expect((await leaving.exited).code).toBe(0);
      const shares = countBy(outputsOf(await allResults(run, 100)), (o) => o.worker);
      expect(shares.get('d1')).toBe(2); // the two it held, nothing after
      expect(shares.get('d2')).toBe(10);
    } finally {
      await gate.close();
    }
  }, 60_000);

  it('ends every item exactly once while workers are killed and started during the run', async () => {
    const started = await Promise.all(['c0', 'c1', 'c2'].map((name) => startWorker(served.url, name, { pool: 'chaos', capacity: 4 })));
    const gate = await startGate();
    try {
      // The last items wait at the gate, so the run is still going when the last round comes.
      const n = 3000;
      const held = 12;
      const inputs = Array.from({ length: n }, (_, i) => ({ i, gate: i >= n - held ? gate.url : null }));
      const flow = { steps: [{ id: 'w', component: '/chaos/work', input: { i: { $input: 'i' }, gate: { $input: 'gate' }, ms: 1 } }], output: { $step: 'w' } };
      const run = await client.submit({ flow, inputs, maxConcurrency: 12 });
      for (let round = 1; round <= 3; round++) {
        let status = await run.status();
        for (let k = 0; k < 4000 && status.items.success < (round * (n - held)) / 4; k++) status = await run.wait({ timeoutMs: 25 });
        const victim = started.splice(Math.floor(Math.random() * started.length), 1)[0]!;
        victim.child.kill('SIGKILL');
        started.push(await startWorker(served.url, `c${round + 2}`, { pool: 'chaos', capacity: 4 }));
      }
      expect((await run.status()).status).toBe('running');
      gate.release();
      const final = await run.wait();
      expect(final.items).toEqual(expect.objectContaining({ success: n, failed: 0, cancelled: 0, pending: 0, running: 0 }));
      const results = await allResults(run, 1000);
      expect(results.map((r) => r.itemIndex)).toEqual(Array.from({ length: n }, (_, i) => i));
      const outputs = outputsOf(results);
      expect(outputs.map((o) => o.i)).toEqual(Array.from({ length: n }, (_, i) => i));
      // Each item's answer came from its last attempt, which the run counts.
      for (const [k, r] of results.entries()) expect(outputs[k]!.attempt).toBe(r.attempts ?? 1);
    } finally {
      await gate.close();
    }
  }, 60_000);

  it('cancels the calls a worker runs when their run is cancelled, and frees its capacity', async () => {
    await startWorker(served.url, 'x1', { pool: 'cancel', capacity: 3 });
    const gate = await startGate();
    try {
      const held = await client.submit({ flow: workFlow('cancel', { gate: gate.url }), inputs: Array.from({ length: 10 }, (_, i) => ({ i })), maxConcurrency: 10 });
      await gate.arrived(3); // the worker is full, seven calls wait for it
      const cancelled = await held.cancel();
      expect(cancelled.status).toBe('cancelled');
      const listed = async () => (await client.sendRequest(WorkersList, {})).workers.find((w) => w.name === 'x1')!;
      for (let k = 0; k < 400 && (await listed()).inFlight > 0; k++) await new Promise((r) => setTimeout(r, 25));
      expect(await listed()).toMatchObject({ inFlight: 0, callsFailed: 3, callsDone: 0 });
      const next = await client.submit({ flow: workFlow('cancel'), inputs: [{ i: 0 }, { i: 1 }, { i: 2 }], wait: true });
      expect(next.submitted?.items.success).toBe(3);
      expect(gate.count()).toBe(3); // the waiting calls never reached the worker
    } finally {
      await gate.close();
    }
  }, 30_000);

  it('serves callbacks of an SDK worker as over stdio: blobs, and child runs linked to the item', async () => {
    await startWorker(served.url, 'n1', { pool: 'nest', capacity: 4 });
    const flow = { steps: [{ id: 'n', component: '/nest/nest', input: { i: { $input: 'i' }, child: '/nest/other' } }], output: { $step: 'n' } };
    const run = await client.submit({ flow, inputs: [{ i: 7 }, { i: 8 }], maxConcurrency: 2, wait: true });
    expect(run.submitted?.items.success).toBe(2);
    const outputs = (await allResults(run, 10)).map((r) => (r.result as { value: unknown }).value);
    expect(outputs).toEqual([
      { blob: { i: 7 }, childOutput: 7, parentRunId: run.runId },
      { blob: { i: 8 }, childOutput: 8, parentRunId: run.runId },
    ]);
  }, 30_000);

  it('fails a call after waitForWorkerMs with -32005 naming the pool and the component when no worker serves it', async () => {
    const run = await client.submit({ flow: workFlow('empty'), inputs: [{ i: 0 }], wait: true });
    const status = await run.status();
    expect(status.items.failed).toBe(1);
    const [result] = await allResults(run, 10);
    expect(result!.result).toMatchObject({
      outcome: 'failed',
      error: { data: { cause: { code: -32005, message: expect.stringMatching(/no worker of pool "empty" serves component "\/work" \(waited 300 ms\)/), data: { pool: 'empty', component: '/work' } } } },
    });
  }, 30_000);
});
