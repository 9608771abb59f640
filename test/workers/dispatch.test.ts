import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowrun } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { allResults } from '../support/run-results.js';
import { startWorker } from '../support/workers.js';
import type { FlowrunClient } from '../../src/client/index.js';
import type { ServedProcess } from '../support/serve.js';
import { countBy, outputsOf, servePools, workFlow, type ServedPools, type WorkOutput } from './served-pools.js';

/**
 * Dispatch to worker pools on real parts: one `flowrun serve`, SDK worker processes of several
 * pools dialling in at /workers, runs submitted by a client: how calls spread, a worker joining,
 * callbacks, and a pool without workers.
 */
let pools: ServedPools;
let served: ServedProcess;
let client: FlowrunClient;

beforeAll(async () => {
  pools = await servePools(['spread', 'other', 'join', 'nest', 'empty'], { empty: 'waitForWorkerMs: 300' });
  ({ served, client } = pools);
});
afterAll(() => pools?.close());

describe('dispatch to worker pools', () => {
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
      expect(byName.get(name)).toMatchObject({ pool: 'spread', capacity, inFlight: 0, callsFailed: 0, callsDone: spread.get(name), components: ['/work', '/other', '/nest'] });
    }

    const metrics = await (await fetch(`${served.httpUrl}metrics`)).text();
    expect(metrics).toContain('flowrun_workers{pool="spread",state="ready"} 3');
    expect(metrics).toContain(`flowrun_worker_calls_total{pool="spread",outcome="success"} ${n}`);
    expect(metrics).toContain(`flowrun_worker_calls_total{pool="other",outcome="success"} ${n}`);
  }, 120_000);

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
