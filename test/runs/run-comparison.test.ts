import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../protocol/index.js';
import { compareRuns } from '../../src/runs/run-comparison.js';
import { RunState, type RunIdentity } from '../../src/runs/run-state.js';

const ok = (value: unknown): FlowResult => ({ outcome: 'success', value });
const fail: FlowResult = { outcome: 'failed', error: { code: 500, message: 'boom' } };
const PAGE = { onlyDifferent: false, offset: 0, limit: 100 };

/** A run whose items settle with `results` in order (`'cancelled'`: cancelled without a result; undefined: still pending). */
function run(runId: string, results: ReadonlyArray<FlowResult | 'cancelled' | undefined>, rerun?: { of: string; sources: number[] }): RunState {
  const identity: RunIdentity = { runId, flowId: 'sha256:f', createdAt: 1, total: results.length };
  if (rerun) Object.assign(identity, { rerunOf: rerun.of, sourceIndices: rerun.sources });
  const state = new RunState(identity);
  results.forEach((result, i) => {
    if (result === undefined) return;
    state.startItem(i);
    if (result === 'cancelled') state.finishItem(i, 'cancelled', undefined, 1, 2);
    else state.finishItem(i, result.outcome === 'failed' ? 'failed' : 'success', result, 1, 2);
  });
  return state;
}

function compare(...states: RunState[]) {
  return compareRuns(states, states.map((s) => s.snapshot()), PAGE);
}

describe('compareRuns', () => {
  it('finds values the same whatever their key order, and different by outcome or value', () => {
    const a = run('a', [ok({ x: 1, y: [1, { p: 1, q: 2 }] }), ok(1), fail]);
    const b = run('b', [ok({ y: [1, { q: 2, p: 1 }], x: 1 }), ok(2), ok(null)]);
    const result = compare(a, b);
    expect(result.summary).toEqual({ items: 3, same: 1, different: 2, missing: 0 });
    expect(result.items.map((i) => i.same)).toEqual([true, false, false]);
  });

  it('counts an item some run lacks or has not settled as missing, and a cancelled one as a cancelled result', () => {
    const a = run('a', [ok(1), ok(2), 'cancelled', ok(4)]);
    const b = run('b', [ok(1), undefined, 'cancelled']);
    const result = compare(a, b);
    expect(result.summary).toEqual({ items: 4, same: 2, different: 0, missing: 2 });
    expect(result.items[1].results).toEqual([ok(2), null]);
    expect(result.items[2].results[0]).toMatchObject({ outcome: 'failed', error: { code: -32800 } });
    expect(result.items[3]).toEqual({ key: 3, results: [ok(4), null], same: false });
  });

  it('matches a rerun through its source indices, and a rerun of a rerun through both', () => {
    const a = run('a', [ok(0), fail, ok(2), fail, fail]);
    const b = run('b', [ok(1), fail, ok(4)], { of: 'a', sources: [1, 3, 4] });
    const c = run('c', [ok(3)], { of: 'b', sources: [1] });
    const result = compare(a, b, c);
    expect(result.items.map((i) => [i.key, ...i.results.map((r) => (r === null ? null : r.outcome === 'success' ? r.value : 'failed'))])).toEqual([
      [0, 0, null, null],
      [1, 'failed', 1, null],
      [2, 2, null, null],
      [3, 'failed', 'failed', 3],
      [4, 'failed', 4, null],
    ]);
    // Compared without its source, a rerun's items are keyed by their own index.
    expect(compare(b, c).items.map((i) => i.key)).toEqual([0, 1, 2]);
  });

  it('pages over the listed items, of the differing ones only when asked', () => {
    const a = run('a', [ok(0), ok(1), ok(2), ok(3), ok(4)]);
    const b = run('b', [ok(0), ok(9), ok(2), ok(9), ok(9)]);
    const first = compareRuns([a, b], [], { onlyDifferent: true, offset: 0, limit: 2 });
    expect(first.items.map((i) => i.key)).toEqual([1, 3]);
    expect(first.nextOffset).toBe(2);
    const second = compareRuns([a, b], [], { onlyDifferent: true, offset: 2, limit: 2 });
    expect(second.items.map((i) => i.key)).toEqual([4]);
    expect(second.nextOffset).toBeUndefined();
    expect(second.summary).toEqual({ items: 5, same: 2, different: 3, missing: 0 });
    expect(compareRuns([a, b], [], { onlyDifferent: false, offset: 4, limit: 1 }).items.map((i) => i.key)).toEqual([4]);
  });
});
