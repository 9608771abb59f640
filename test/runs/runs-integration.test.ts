import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ItemCounts } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { fixturePath, ROOT } from '../support/paths.js';

/** Runs through a real stdio component server: sizes, failures, order, cancellation. */
const FLOW = { steps: [{ id: 'work', component: '/runs/work', input: { $input: '$' } }], output: { $step: 'work', path: 'i' } };

let runtime: Runtime;
beforeEach(async () => {
  const config = parseConfig(
    {
      plugins: { runs: { type: 'stepflow', command: process.execPath, args: [fixturePath('runs-server.mjs')] } },
      routes: { '/runs/{*component}': [{ plugin: 'runs' }] },
    },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
});
afterEach(async () => {
  await runtime.close();
});

const sum = (c: ItemCounts) => c.pending + c.running + c.success + c.failed + c.cancelled;

async function serverView(): Promise<{ finished: number[]; started: number; cancelled: number }> {
  const s = await runtime.runs.submit({ flow: { steps: [{ id: 'o', component: '/runs/order' }], output: { $step: 'o' } }, inputs: [null], wait: true, variables: {} });
  return (s.results![0].result as { value: { finished: number[]; started: number; cancelled: number } }).value;
}

describe('runs over a real component server', () => {
  it.each([1, 100, 10_000])('runs %i items with failures mixed in; counters always add up', async (n) => {
    const inputs = Array.from({ length: n }, (_, i) => ({ i, fail: i % 7 === 3 }));
    const { runId } = await runtime.runs.submit({ flow: FLOW, inputs, maxConcurrency: 32, wait: false, variables: {} });
    const state = runtime.runs.state(runId)!;
    let samples = 0;
    while (!state.isTerminal) {
      expect(sum(state.counts)).toBe(n);
      samples++;
      await new Promise((r) => setImmediate(r));
    }
    const final = await runtime.runs.get({ runId, wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 });
    const failures = inputs.filter((x) => x.fail).length;
    expect(final.items).toEqual({ total: n, pending: 0, running: 0, success: n - failures, failed: failures, cancelled: 0 });
    expect(final.status).toBe(failures === n ? 'failed' : 'success');
    final.results!.forEach((r, i) => {
      if (inputs[i].fail) expect(r.result).toMatchObject({ outcome: 'failed', error: { code: 500, data: { cause: { code: -32004, data: { i } } } } });
      else expect(r.result).toEqual({ outcome: 'success', value: i });
    });
    expect(samples).toBeGreaterThan(0);
  });

  it('runs a child run submitted from inside a component, linked to its parent', async () => {
    const status = await runtime.runs.submit({
      flow: { steps: [{ id: 'o', component: '/runs/orchestrate', input: { $input: '$' } }], output: { $step: 'o' } },
      inputs: [{ n: 1000, failEvery: 10 }],
      wait: true,
      variables: {},
    });
    const value = (status.results![0].result as { value: { parentRunId: string; status: string; items: ItemCounts } }).value;
    expect(value.parentRunId).toBe(status.runId);
    expect(value.status).toBe('success');
    expect(value.items).toEqual({ total: 1000, pending: 0, running: 0, success: 900, failed: 100, cancelled: 0 });
  });

  it('links each child run to the run whose call submitted it while calls of several runs are in flight', async () => {
    const flow = { steps: [{ id: 'o', component: '/runs/orchestrate', input: { $input: '$' } }], output: { $step: 'o' } };
    const inputs = Array.from({ length: 3 }, () => ({ n: 20, failEvery: 1000 }));
    const [first, second] = await Promise.all([
      runtime.runs.submit({ flow, inputs, wait: true, maxConcurrency: 3, variables: {} }),
      runtime.runs.submit({ flow, inputs, wait: true, maxConcurrency: 3, variables: {} }),
    ]);
    for (const status of [first, second]) {
      expect(status.items.success).toBe(3);
      for (const r of status.results!) {
        expect((r.result as { value: { parentRunId: string } }).value.parentRunId).toBe(status.runId);
      }
    }
  });

  it('lists byCompletion in the order the component server finished the items', async () => {
    // Staggered delays (distinct multiples of 5 ms, shuffled), all items in flight at once.
    let seed = 99;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const slots = Array.from({ length: 40 }, (_, k) => k);
    for (let k = slots.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [slots[k], slots[j]] = [slots[j], slots[k]];
    }
    const inputs = slots.map((slot, i) => ({ i, delayMs: 5 * slot }));
    const s = await runtime.runs.submit({ flow: FLOW, inputs, maxConcurrency: 40, wait: true, variables: {} });
    const byCompletion = await runtime.runs.get({ runId: s.runId, includeResults: true, resultOrder: 'byCompletion', wait: false, offset: 0 });
    const { finished } = await serverView();
    expect(byCompletion.results!.map((r) => r.itemIndex)).toEqual(finished);
    expect(new Set(finished).size).toBe(40);
  });

  it('cancels a run of slow items without waiting for them: in-flight calls are cancelled on the server', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => ({ i, delayMs: 600_000 }));
    const { runId } = await runtime.runs.submit({ flow: FLOW, inputs, maxConcurrency: 4, wait: false, variables: {} });
    const state = runtime.runs.state(runId)!;
    for (let k = 0; k < 10_000 && (await serverView()).started < 4; k++) await new Promise((r) => setTimeout(r, 5));
    await runtime.runs.cancel(runId);
    const final = await runtime.runs.get({ runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(final.status).toBe('cancelled');
    expect(final.items).toEqual({ total: 20, pending: 0, running: 0, success: 0, failed: 0, cancelled: 20 });
    expect(state.isTerminal).toBe(true);
    let view = await serverView();
    for (let k = 0; k < 1000 && view.cancelled < 4; k++) view = await serverView();
    expect(view.cancelled).toBe(4);
    expect(view.started).toBe(4);
  });
});

describe('per-step timeouts', () => {
  it('fails a call that outlives its step timeoutMs with -32006 and cancels it on the server', async () => {
    const flow = { steps: [{ id: 'work', component: '/runs/work', timeoutMs: 200, input: { $input: '$' } }], output: { $step: 'work', path: 'i' } };
    const s = await runtime.runs.submit({ flow, inputs: [{ i: 1, delayMs: 600_000 }], wait: true, variables: {} });
    expect(s.results![0].result).toMatchObject({ outcome: 'failed', error: { code: 500, message: 'step "work" failed', data: { cause: { code: -32006 } } } });
    let view = await serverView();
    for (let k = 0; k < 1000 && view.cancelled < 1; k++) view = await serverView();
    expect(view.cancelled).toBe(1);
  });
});
