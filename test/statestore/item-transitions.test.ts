import { describe, expect, it } from 'vitest';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import type { ItemUpdate } from '../../src/statestore/index.js';

describe('ItemTransitions', () => {
  const updates: ItemUpdate[] = [
    { runId: 'r1', itemIndex: 3, status: 'running', attempts: 1 },
    { runId: 'r1', itemIndex: 3, status: 'success', attempts: 1, result: { outcome: 'success', value: 7 }, completedAt: 1000, completionSeq: 0 },
    { runId: 'r2', itemIndex: 0, status: 'failed', attempts: 2, result: { outcome: 'failed', error: { code: -32004, message: 'no' } }, completedAt: 1001, completionSeq: 0 },
    { runId: 'r2', itemIndex: 1, status: 'cancelled', attempts: 0, result: undefined, completedAt: 1002, completionSeq: 1 },
  ];

  it('keeps transitions in order and gives them back as the same objects', () => {
    const t = ItemTransitions.of(updates);
    expect(t.length).toBe(4);
    expect(t.toUpdates()).toEqual(updates);
    expect(t.at(1)).toEqual(updates[1]);
  });

  it('carries statuses as codes, with no result or completion for a running transition', () => {
    const t = new ItemTransitions();
    t.started('r', 5, 2);
    t.settled('r', 5, 'failed', 2, undefined, 9, 4);
    expect(t.statuses).toEqual([1, 3]);
    expect(t.results).toEqual([undefined, undefined]);
    expect(t.completionSeqs).toEqual([-1, 4]);
    expect(t.at(0)).toEqual({ runId: 'r', itemIndex: 5, status: 'running', attempts: 2 });
  });
});

describe('ItemTransitions reuse', () => {
  it('starts empty after clear(), keeps its capacity and drops the results it held', () => {
    const t = new ItemTransitions();
    for (let i = 0; i < 10; i++) t.settled('r', i, 'success', 1, { outcome: 'success', value: i }, 5, i);
    t.clear();
    expect(t.length).toBe(0);
    expect(t.capacity).toBe(10);
    expect(t.results.every((r) => r === undefined)).toBe(true);
    t.started('r2', 7, 3);
    expect(t.length).toBe(1);
    expect(t.toUpdates()).toEqual([{ runId: 'r2', itemIndex: 7, status: 'running', attempts: 3 }]);
  });
});
