import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkersList } from '../../protocol/index.js';
import { startGate } from '../support/gate.js';
import { allResults } from '../support/run-results.js';
import { startWorker } from '../support/workers.js';
import type { FlowrunClient } from '../../src/client/index.js';
import type { ServedProcess } from '../support/serve.js';
import { countBy, outputsOf, servePools, workFlow, type ServedPools, type WorkOutput } from './served-pools.js';

/**
 * Worker pools when workers fail or leave, on real parts: one `flowrun serve`, SDK worker processes
 * killed (SIGKILL), drained (SIGTERM), joining during a run, and runs cancelled while workers hold
 * their calls. Every item ends exactly once.
 */
let pools: ServedPools;
let served: ServedProcess;
let client: FlowrunClient;

beforeAll(async () => {
  pools = await servePools(['kill', 'drain', 'chaos', 'cancel'], { chaos: 'transportRetries: 10' });
  ({ served, client } = pools);
});
afterAll(() => pools?.close());

describe('worker pools when workers fail or leave', () => {
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

});
