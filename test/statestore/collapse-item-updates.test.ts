import { describe, expect, it } from 'vitest';
import { collapseItemUpdates, supersededTransitions } from '../../src/statestore/collapse-item-updates.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';

describe('collapseItemUpdates', () => {
  it('keeps one update per item with the status and attempts of its last transition', () => {
    expect(
      collapseItemUpdates([
        { runId: 'r', itemIndex: 0, status: 'running', attempts: 1 },
        { runId: 'r', itemIndex: 1, status: 'running', attempts: 1 },
        { runId: 'r', itemIndex: 0, status: 'failed', attempts: 1, completedAt: 5, completionSeq: 0 },
        { runId: 'r', itemIndex: 0, status: 'running', attempts: 2 },
      ]),
    ).toEqual([
      // The retry keeps the fields the failure wrote, as applying the updates one by one would.
      { runId: 'r', itemIndex: 0, status: 'running', attempts: 2, settled: { result: undefined, completedAt: 5, completionSeq: 0 } },
      { runId: 'r', itemIndex: 1, status: 'running', attempts: 1 },
    ]);
  });

  it('takes the fields of the last terminal transition', () => {
    const [item] = collapseItemUpdates([
      { runId: 'r', itemIndex: 3, status: 'failed', attempts: 1, result: { outcome: 'skipped' }, completedAt: 1, completionSeq: 0 },
      { runId: 'r', itemIndex: 3, status: 'success', attempts: 2, result: { outcome: 'success', value: 7 }, completedAt: 2, completionSeq: 1 },
    ]);
    expect(item).toEqual({ runId: 'r', itemIndex: 3, status: 'success', attempts: 2, settled: { result: { outcome: 'success', value: 7 }, completedAt: 2, completionSeq: 1 } });
  });

  it('keeps items of different runs apart, even when ids could collide when joined', () => {
    const updates = collapseItemUpdates([
      { runId: '1:a', itemIndex: 2, status: 'running', attempts: 1 },
      { runId: 'a', itemIndex: 21, status: 'running', attempts: 1 },
      { runId: '2:a', itemIndex: 1, status: 'running', attempts: 1 },
    ]);
    expect(updates.map((u) => [u.runId, u.itemIndex])).toEqual([
      ['1:a', 2],
      ['a', 21],
      ['2:a', 1],
    ]);
  });
});

describe('supersededTransitions', () => {
  it('marks a start another transition of its item follows, a settle a later settle follows, and a settle kept with a later start', () => {
    const batch = ItemTransitions.of([
      { runId: 'r', itemIndex: 0, status: 'running', attempts: 1 },
      { runId: 'r', itemIndex: 1, status: 'running', attempts: 1 },
      { runId: 'r', itemIndex: 0, status: 'failed', attempts: 1, completedAt: 5, completionSeq: 0 },
      // A settle followed by a start is kept: the start does not overwrite the result.
      { runId: 'r', itemIndex: 0, status: 'running', attempts: 2 },
      { runId: 's', itemIndex: 1, status: 'running', attempts: 1 },
      { runId: 's', itemIndex: 1, status: 'success', attempts: 1, completedAt: 6, completionSeq: 0 },
      { runId: 's', itemIndex: 1, status: 'success', attempts: 1, completedAt: 7, completionSeq: 1 },
    ]);
    expect([...supersededTransitions(batch)]).toEqual([1, 0, 2, 0, 1, 1, 0]);
  });
});
