import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, RpcError, type FlowResult, type RunStatus } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import type { StepInvocation, StepInvoker } from '../../src/executor/item-executor.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import { rejectionOf } from '../support/errors.js';

const FLOW = {
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'work',
  steps: [{ id: 'work', component: '/test/work', input: { $input: '$' } }],
  output: { $step: 'work' },
};

/** An invoker whose calls the test resolves by hand, recording what it saw. */
class ManualInvoker {
  readonly calls: Array<{ inv: StepInvocation; resolve: (r: FlowResult) => void }> = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly waiters: Array<() => void> = [];

  readonly invoke: StepInvoker = (inv) =>
    new Promise<FlowResult>((resolve) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const done = (r: FlowResult) => {
        this.inFlight--;
        resolve(r);
      };
      inv.signal?.addEventListener('abort', () => done({ outcome: 'failed', error: { code: ErrorCodes.RequestCancelled, message: 'cancelled' } }), { once: true });
      this.calls.push({ inv, resolve: done });
      for (const w of this.waiters.splice(0)) w();
    });

  /** Resolves when at least `n` calls have been made. */
  async untilCalls(n: number): Promise<void> {
    while (this.calls.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}

/** An invoker that answers at once: the item's input doubled, or a failure for negative numbers. */
const doubling: StepInvoker = async (inv) => {
  const x = inv.input as number;
  return x < 0 ? { outcome: 'failed', error: { code: 7, message: `negative: ${x}` } } : { outcome: 'success', value: x * 2 };
};

let manager: RunManager;
afterEach(async () => manager?.cancelAll());

function make(invoke: StepInvoker): RunManager {
  manager = new RunManager({ blobs: new MemoryBlobStore(), invoke });
  return manager;
}

const rpcError = (p: Promise<unknown>): Promise<RpcError> => rejectionOf(p, RpcError);

const submitParams = (inputs: unknown[], extra: Record<string, unknown> = {}) => ({
  flow: FLOW,
  inputs,
  wait: false,
  variables: {},
  ...extra,
});

describe('RunManager', () => {
  it('runs every item and returns results in input order with wait', async () => {
    const runs = make(doubling);
    const status = await runs.submit(submitParams([1, 2, -3, 4], { wait: true }));
    expect(status.status).toBe('success');
    expect(status.items).toEqual({ total: 4, pending: 0, running: 0, success: 3, failed: 1, cancelled: 0 });
    expect(status.results!.map((r) => r.result)).toEqual([
      { outcome: 'success', value: 2 },
      { outcome: 'success', value: 4 },
      { outcome: 'failed', error: { code: 7, message: 'negative: -3' } },
      { outcome: 'success', value: 8 },
    ]);
    expect(status.flowId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(status.flowName).toBe('work');
  });

  it('fails a run whose items all failed, and succeeds an empty run at once', async () => {
    const runs = make(doubling);
    expect((await runs.submit(submitParams([-1, -2], { wait: true }))).status).toBe('failed');
    const empty = await runs.submit(submitParams([]));
    expect(empty.status).toBe('success');
    expect(empty.items.total).toBe(0);
  });

  it('never runs more than maxConcurrency items at once, and counters always add up', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const submitted = await runs.submit(submitParams(Array.from({ length: 50 }, (_, i) => i), { maxConcurrency: 3 }));
    expect(submitted.items.running).toBeLessThanOrEqual(3);
    let resolved = 0;
    while (resolved < 50) {
      await inv.untilCalls(resolved + 1);
      const s = await runs.get({ runId: submitted.runId, wait: false, includeResults: false, resultOrder: 'byIndex', offset: 0 });
      const c = s.items;
      expect(c.pending + c.running + c.success + c.failed + c.cancelled).toBe(50);
      expect(c.running).toBeLessThanOrEqual(3);
      inv.calls[resolved++].resolve({ outcome: 'success', value: resolved });
    }
    const final = await runs.get({ runId: submitted.runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(final.status).toBe('success');
    expect(inv.maxInFlight).toBe(3);
  });

  it('returns byCompletion results in the order items finished', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const { runId } = await runs.submit(submitParams([0, 1, 2, 3, 4]));
    await inv.untilCalls(5);
    const order = [2, 4, 0, 3, 1];
    for (const i of order) inv.calls.find((c) => c.inv.input === i)!.resolve({ outcome: 'success', value: i });
    const s = await runs.get({ runId, wait: true, includeResults: true, resultOrder: 'byCompletion', offset: 0 });
    expect(s.results!.map((r) => r.itemIndex)).toEqual(order);
    expect(s.results!.every((r) => typeof r.completedAt === 'string')).toBe(true);
  });

  it('long-polls: wait answers when the run turns terminal, timeoutMs returns the current status', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const { runId } = await runs.submit(submitParams([1]));
    const early = await runs.get({ runId, wait: true, timeoutMs: 20, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(early.status).toBe('running');
    const waiters = Array.from({ length: 100 }, () =>
      runs.get({ runId, wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 }),
    );
    await inv.untilCalls(1);
    inv.calls[0].resolve({ outcome: 'success', value: 'done' });
    const answers: RunStatus[] = await Promise.all(waiters);
    expect(answers.every((a) => a.status === 'success' && a.results![0].result?.outcome === 'success')).toBe(true);
  });

  it('releases a waiter whose signal aborts', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const { runId } = await runs.submit(submitParams([1]));
    const abort = new AbortController();
    const pending = runs.get({ runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 }, abort.signal);
    abort.abort();
    expect((await pending).status).not.toBe('success');
  });

  it('cancels pending items at once, aborts running ones, keeps finished results', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const { runId } = await runs.submit(submitParams([0, 1, 2, 3, 4, 5], { maxConcurrency: 2 }));
    await inv.untilCalls(2);
    inv.calls[0].resolve({ outcome: 'success', value: 'kept' });
    await inv.untilCalls(3);
    const cancelled = await runs.cancel(runId);
    expect(cancelled.items.pending).toBe(0);
    expect(cancelled.items.cancelled).toBeGreaterThanOrEqual(3);
    const final = await runs.get({ runId, wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 });
    expect(final.status).toBe('cancelled');
    expect(final.items).toEqual({ total: 6, pending: 0, running: 0, success: 1, failed: 0, cancelled: 5 });
    expect(final.results![0].result).toEqual({ outcome: 'success', value: 'kept' });
    expect(inv.calls.length).toBe(3); // nothing started after the cancel
    const { results: _results, ...withoutResults } = final;
    expect(await runs.cancel(runId)).toEqual(withoutResults); // cancelling a terminal run changes nothing
  });

  it('links child runs to their parent and cancels children with the parent', async () => {
    const inv = new ManualInvoker();
    const runs = make(inv.invoke);
    const parent = await runs.submit(submitParams([1]));
    await inv.untilCalls(1);
    const scope = inv.calls[0].inv.scope;
    const child = await runs.submit(submitParams([10, 11]), { parent: scope });
    expect(child.parentRunId).toBe(parent.runId);
    const listed = await runs.list({ parentRunId: parent.runId, limit: 50 });
    expect(listed.runs.map((r) => r.runId)).toEqual([child.runId]);
    await runs.cancel(parent.runId);
    const childFinal = await runs.get({ runId: child.runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(childFinal.status).toBe('cancelled');
  });

  it('refuses bad requests with the protocol error naming the culprit', async () => {
    const runs = make(doubling);
    const unknownRun = await rpcError(runs.get({ runId: 'nope', wait: false, includeResults: false, resultOrder: 'byIndex', offset: 0 }));
    expect([unknownRun.code, unknownRun.data]).toEqual([ErrorCodes.NotFound, { runId: 'nope' }]);

    const missing = 'sha256:' + 'a'.repeat(64);
    const noFlow = await rpcError(runs.submit({ flowId: missing, inputs: [1], wait: false, variables: {} }));
    expect([noFlow.code, noFlow.data]).toEqual([ErrorCodes.NotFound, { flowId: missing }]);

    const blobs = new MemoryBlobStore();
    manager = new RunManager({ blobs, invoke: doubling });
    const dataId = await blobs.put({ not: 'a flow' }, 'data');
    const notFlow = await rpcError(manager.submit({ flowId: dataId, inputs: [1], wait: false, variables: {} }));
    expect(notFlow.code).toBe(ErrorCodes.InvalidParams);
    expect(notFlow.data).toMatchObject({ flowId: dataId });

    const invalid = await rpcError(manager.submit(submitParams([1], { flow: { steps: [{ id: 'a', component: '/x', input: { $step: 'ghost' } }] } })));
    expect(invalid.code).toBe(ErrorCodes.InvalidParams);
    expect(JSON.stringify(invalid.data)).toContain('ghost');

    const badOverride = await rpcError(manager.submit(submitParams([1], { overrides: { ghost: { $type: 'merge_patch', value: {} } } })));
    expect(badOverride.code).toBe(ErrorCodes.InvalidParams);
    expect(JSON.stringify(badOverride.data)).toContain('ghost');
  });

  it('applies overrides for one run only', async () => {
    const seen: unknown[] = [];
    const runs = make(async (inv) => {
      seen.push(inv.input);
      return { outcome: 'success', value: inv.input };
    });
    await runs.submit(submitParams([1], { wait: true, overrides: { work: { $type: 'merge_patch', value: { input: { $literal: 'patched' } } } } }));
    await runs.submit(submitParams([2], { wait: true }));
    expect(seen).toEqual(['patched', 2]);
  });

  it('lists runs newest first with status filters and cursor paging', async () => {
    const runs = make(doubling);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await runs.submit(submitParams([i], { wait: true }))).runId);
    const failedRun = (await runs.submit(submitParams([-1], { wait: true }))).runId;
    const page1 = await runs.list({ limit: 2 });
    expect(page1.runs.map((r) => r.runId)).toEqual([failedRun, ids[4]]);
    const page2 = await runs.list({ limit: 2, cursor: page1.nextCursor });
    expect(page2.runs.map((r) => r.runId)).toEqual([ids[3], ids[2]]);
    const page3 = await runs.list({ limit: 2, cursor: page2.nextCursor });
    expect(page3.runs.map((r) => r.runId)).toEqual([ids[1], ids[0]]);
    expect((await runs.list({ limit: 50, status: ['failed'] })).runs.map((r) => r.runId)).toEqual([failedRun]);
    expect(page1.runs.every((r) => r.results === undefined)).toBe(true);
    const garbage = await rpcError(runs.list({ limit: 2, cursor: 'not a cursor!' }));
    expect([garbage.code, garbage.data]).toEqual([ErrorCodes.InvalidParams, { cursor: 'not a cursor!' }]);
  });

  it('records a run of no items as finished in the state store', async () => {
    const store = new MemoryStateStore();
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: doubling, store });
    const { runId } = await manager.submit(submitParams([]));
    await manager.flush();
    expect((await manager.list({ limit: 50, status: ['success'] })).runs.map((r) => r.runId)).toEqual([runId]);
    expect(await store.unfinishedRuns()).toEqual([]);
  });

  it('runs a flow stored first as data, then as a flow, by its id in a fresh process', async () => {
    const blobs = new MemoryBlobStore();
    const id = await blobs.put(FLOW, 'data');
    expect(await blobs.put(FLOW, 'flow')).toBe(id);
    manager = new RunManager({ blobs, invoke: doubling }); // no compiled-flow cache from the puts
    const status = await manager.submit({ flowId: id, inputs: [21], wait: true, variables: {} });
    expect(status.results![0].result).toEqual({ outcome: 'success', value: 42 });
  });

  it('lets finished runs leave memory once stored, and still answers them from the store', async () => {
    const store = new MemoryStateStore();
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: doubling, store });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await manager.submit(submitParams([i], { wait: true }))).runId);
    await manager.flush();
    await new Promise((r) => setImmediate(r));
    expect(manager.liveRunCount).toBe(0);
    const oldest = await manager.get({ runId: ids[0], wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 });
    expect(oldest).toMatchObject({ runId: ids[0], status: 'success', items: { total: 1, success: 1 } });
    expect(oldest.results![0].result).toEqual({ outcome: 'success', value: 0 });
    expect((await manager.cancel(ids[1])).status).toBe('success'); // terminal: unchanged
  });

  it('reads a stored finished run once for lookups of it at once, and answers each of them', async () => {
    const store = new MemoryStateStore();
    const first = new RunManager({ blobs: new MemoryBlobStore(), invoke: doubling, store });
    const { runId } = await first.submit(submitParams([1, 2, 3], { wait: true }));
    await first.flush();
    const loads: string[] = [];
    const counting = Object.assign(Object.create(store) as MemoryStateStore, {
      loadRun: (id: string) => {
        loads.push(id);
        return store.loadRun(id);
      },
    });
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: doubling, store: counting });
    const get = () => manager.get({ runId, wait: false, includeResults: true, resultOrder: 'byIndex', offset: 0 });
    const answers = await Promise.all([get(), get(), get()]);
    expect(loads).toEqual([runId]);
    for (const answer of answers) {
      expect(answer).toMatchObject({ runId, status: 'success', items: { total: 3, success: 3 } });
      expect(answer.results!.map((r) => r.result)).toEqual([2, 4, 6].map((value) => ({ outcome: 'success', value })));
    }
  });

  it('gives the event loop turns during a run whose components answer without I/O', async () => {
    const runs = make(doubling);
    const { runId } = await runs.submit(submitParams(Array.from({ length: 20_000 }, (_, i) => i)));
    const state = runs.state(runId)!;
    const seenMidRun = await new Promise<number>((resolve) => setImmediate(() => resolve(state.counts.success)));
    expect(seenMidRun).toBeLessThan(20_000);
    await runs.get({ runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(state.counts.success).toBe(20_000);
  });
});
