import { describe, expect, it } from 'vitest';
import type { ItemCounts } from '../../protocol/index.js';
import { RunState } from '../../src/runs/run-state.js';

const ok = (value: unknown) => ({ outcome: 'success' as const, value });
const fail = { outcome: 'failed' as const, error: { code: 1, message: 'no' } };

function makeRun(total: number): RunState {
  return new RunState({ runId: 'r1', flowId: 'sha256:' + '0'.repeat(64), createdAt: 1_000, total });
}

function sum(c: ItemCounts): number {
  return c.pending + c.running + c.success + c.failed + c.cancelled;
}

describe('RunState', () => {
  it('is pending until its first item starts, then running, then terminal', () => {
    const run = makeRun(2);
    expect(run.status).toBe('pending');
    run.startItem(0);
    expect(run.status).toBe('running');
    run.finishItem(0, 'success', ok(1), 1, 2_000);
    expect(run.status).toBe('running');
    run.startItem(1);
    run.finishItem(1, 'failed', fail, 1, 3_000);
    expect(run.status).toBe('success'); // partial failure shows in items.failed
    expect(run.snapshot().completedAt).toBe(new Date(3_000).toISOString());
    expect(run.snapshot().items).toEqual({ total: 2, pending: 0, running: 0, success: 1, failed: 1, cancelled: 0 });
  });

  it('fails when every item failed, and succeeds at once with no items', () => {
    const run = makeRun(1);
    run.startItem(0);
    run.finishItem(0, 'failed', fail, 1, 2_000);
    expect(run.status).toBe('failed');
    const empty = makeRun(0);
    expect(empty.status).toBe('success');
    expect(empty.isTerminal).toBe(true);
  });

  it('keeps total = pending + running + success + failed + cancelled through random transitions', () => {
    const n = 500;
    const run = makeRun(n);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const running: number[] = [];
    let next = 0;
    let steps = 0;
    while (!run.isTerminal && steps++ < 10_000) {
      const r = rand();
      if (r < 0.45 && next < n) {
        if (run.startItem(next)) running.push(next);
        next++;
      } else if (r < 0.9 && running.length > 0) {
        const i = running.splice(Math.floor(rand() * running.length), 1)[0];
        run.finishItem(i, rand() < 0.8 ? 'success' : 'failed', ok(i), 1, 2_000 + steps);
      } else if (r >= 0.995) {
        run.cancelPending(5_000);
        for (const i of running.splice(0)) run.finishItem(i, 'cancelled', undefined, 1, 5_001);
      }
      expect(sum(run.counts)).toBe(n);
    }
    expect(run.isTerminal).toBe(true);
  });

  it('cancels pending items at once and leaves finished results alone', () => {
    const run = makeRun(4);
    run.startItem(0);
    run.finishItem(0, 'success', ok('kept'), 1, 2_000);
    run.startItem(1);
    run.cancelPending(3_000);
    expect(run.counts).toMatchObject({ success: 1, running: 1, cancelled: 2, pending: 0 });
    expect(run.isTerminal).toBe(false); // item 1 is still running
    expect(run.startItem(2)).toBe(false);
    run.finishItem(1, 'cancelled', undefined, 1, 3_500);
    expect(run.status).toBe('cancelled');
    const results = run.snapshot({ includeResults: true }).results!;
    expect(results[0]).toMatchObject({ itemIndex: 0, status: 'success', result: ok('kept') });
    expect(results.slice(1).map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('cancels pending items in slices, lowest index first, with consistent counters between slices', () => {
    const run = makeRun(25);
    run.startItem(3);
    run.finishItem(3, 'success', ok('kept'), 1, 2_000);
    run.startItem(7);
    expect(run.cancelPending(3_000, 10)).toBe(false);
    expect(run.isCancelRequested).toBe(true);
    expect(run.counts).toMatchObject({ success: 1, running: 1, cancelled: 10, pending: 13 });
    expect(run.itemStatusOf(10)).toBe('cancelled'); // items 0-11 but 3 and 7
    expect(run.itemStatusOf(12)).toBe('pending');
    expect(run.status).toBe('running');
    expect(run.cancelPending(3_001, 10)).toBe(false);
    expect(run.cancelPending(3_002, 10)).toBe(true);
    expect(run.counts).toMatchObject({ success: 1, running: 1, cancelled: 23, pending: 0 });
    expect(run.isTerminal).toBe(false);
    run.finishItem(7, 'cancelled', undefined, 1, 3_500);
    expect(run.status).toBe('cancelled');
    expect(sum(run.counts)).toBe(25);
  });

  it('never changes once terminal', () => {
    const run = makeRun(1);
    run.startItem(0);
    run.finishItem(0, 'success', ok(1), 1, 2_000);
    const before = run.snapshot({ includeResults: true });
    run.cancelPending(9_000);
    run.finishItem(0, 'failed', fail, 2, 9_000);
    expect(run.snapshot({ includeResults: true })).toEqual(before);
  });

  it('lists byCompletion in finishing order and pages without repeats or gaps while running', () => {
    const run = makeRun(6);
    for (let i = 0; i < 6; i++) run.startItem(i);
    const finishOrder = [3, 0, 5, 1, 4, 2];
    const seen: number[] = [];
    let offset = 0;
    for (const [k, index] of finishOrder.entries()) {
      run.finishItem(index, 'success', ok(index), 1, 2_000 + k);
      const page = run.resultPage({ resultOrder: 'byCompletion', offset, limit: 4 });
      seen.push(...page.results.map((r) => r.itemIndex));
      offset = page.nextOffset ?? offset + page.results.length;
    }
    expect(seen).toEqual(finishOrder);
    const all = run.snapshot({ includeResults: true, resultOrder: 'byCompletion' });
    expect(all.results!.map((r) => r.itemIndex)).toEqual(finishOrder);
    expect(all.nextOffset).toBeUndefined();
  });

  it('pages byIndex with nextOffset until the last item', () => {
    const run = makeRun(5);
    const first = run.snapshot({ includeResults: true, offset: 0, limit: 2 });
    expect(first.results!.map((r) => r.itemIndex)).toEqual([0, 1]);
    expect(first.nextOffset).toBe(2);
    const last = run.snapshot({ includeResults: true, offset: 4, limit: 2 });
    expect(last.results!.map((r) => r.itemIndex)).toEqual([4]);
    expect(last.nextOffset).toBeUndefined();
    expect(first.results![0]).toEqual({ itemIndex: 0, status: 'pending' });
  });

  it('wakes terminal listeners once, and at once when already terminal', () => {
    const run = makeRun(1);
    let calls = 0;
    run.onTerminal(() => calls++);
    const subscription = run.onTerminal(() => calls += 100);
    subscription.dispose();
    run.startItem(0);
    run.finishItem(0, 'success', ok(1), 1, 2_000);
    expect(calls).toBe(1);
    run.onTerminal(() => calls++);
    expect(calls).toBe(2);
  });
});
