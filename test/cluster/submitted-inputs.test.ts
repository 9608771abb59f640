import { describe, expect, it } from 'vitest';
import { SubmittedInputs } from '../../src/cluster/submitted-inputs.js';

/** The inputs a node keeps of the runs submitted to it, for the first claims of their chunks (docs/cluster.md). */
describe('cluster: inputs of runs submitted to a node', () => {
  it('answers a chunk slice of a kept run, and nothing for a run not kept or forgotten', () => {
    const kept = new SubmittedInputs(100);
    kept.remember('a', [10, 11, 12, 13, 14]);
    expect(kept.slice('a', 1, 4)).toEqual([11, 12, 13]);
    expect(kept.slice('b', 0, 2)).toBeUndefined();
    kept.forget('a');
    expect(kept.slice('a', 0, 2)).toBeUndefined();
    expect(kept.runs).toBe(0);
  });

  it('drops the oldest runs beyond its bound of items, and never keeps a run larger than the bound', () => {
    const kept = new SubmittedInputs(10);
    kept.remember('old', Array.from({ length: 6 }, (_, i) => i));
    kept.remember('mid', Array.from({ length: 3 }, (_, i) => i));
    kept.remember('new', Array.from({ length: 4 }, (_, i) => i)); // 13 > 10: 'old' goes
    expect(kept.slice('old', 0, 1)).toBeUndefined();
    expect(kept.slice('mid', 0, 1)).toEqual([0]);
    expect(kept.slice('new', 3, 4)).toEqual([3]);
    kept.remember('huge', Array.from({ length: 11 }, (_, i) => i));
    expect(kept.slice('huge', 0, 1)).toBeUndefined();
    expect(kept.runs).toBe(2);
    // Forgetting frees its share of the bound: a run of 6 fits beside the 4 kept.
    kept.forget('mid');
    kept.remember('next', [1, 2, 3, 4, 5, 6]);
    expect([kept.slice('new', 0, 1), kept.slice('next', 0, 1)]).toEqual([[0], [1]]);
  });
});
