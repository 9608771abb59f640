import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../../protocol/index.js';
import { ITERATE_BAD_OUTPUT_MESSAGE } from '../../../src/plugins/builtin/index.js';
import { callOf, componentError, fakeHost, parentScope } from './fake-host.js';

const flow = { name: 'count', steps: [], output: { $input: '$' } };

/** Counts `n` up to `stop`, then returns `{result: n}`. */
function countTo(stop: number) {
  return (input: unknown): FlowResult => {
    const n = (input as { n: number }).n;
    return { outcome: 'success', value: n >= stop ? { result: `done at ${n}` } : { next: { n: n + 1 } } };
  };
}

describe('/iterate', () => {
  it('feeds each `next` into the next iteration until an output has `result`', async () => {
    const { plugin, childRuns } = fakeHost(countTo(3));
    const result = await plugin.execute(callOf('/iterate', { flow, initial_input: { n: 0 } }));
    expect(result).toEqual({ outcome: 'success', value: { result: 'done at 3', iterations: 4, terminated: false } });
    expect(childRuns.map((c) => c.inputs)).toEqual([[{ n: 0 }], [{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    for (const child of childRuns) expect(child).toMatchObject({ flow: { flow }, options: { parent: parentScope } });
  });

  it('stops at max_iterations with the last input as result and terminated true', async () => {
    const { plugin, childRuns } = fakeHost(countTo(100));
    const result = await plugin.execute(callOf('/iterate', { flow, initial_input: { n: 0 }, max_iterations: 2 }));
    expect(result).toEqual({ outcome: 'success', value: { result: { n: 2 }, iterations: 2, terminated: true } });
    expect(childRuns).toHaveLength(2);
  });

  it('runs at most 1000 iterations by default', async () => {
    const { plugin, childRuns } = fakeHost(countTo(Number.POSITIVE_INFINITY));
    const result = await plugin.execute(callOf('/iterate', { flow, initial_input: { n: 0 } }));
    expect(result).toEqual({ outcome: 'success', value: { result: { n: 1000 }, iterations: 1000, terminated: true } });
    expect(childRuns).toHaveLength(1000);
  });

  it('returns the initial input without running the flow when max_iterations is 0', async () => {
    const { plugin, childRuns } = fakeHost(countTo(1));
    const result = await plugin.execute(callOf('/iterate', { flow, initial_input: 'x', max_iterations: 0 }));
    expect(result).toEqual({ outcome: 'success', value: { result: 'x', iterations: 0, terminated: true } });
    expect(childRuns).toHaveLength(0);
  });

  it("fails with code 400 when an output has neither 'result' nor 'next'", async () => {
    for (const value of [{ other: 1 }, 5, null, ['next']]) {
      const { plugin } = fakeHost(() => ({ outcome: 'success', value }));
      const result = await plugin.execute(callOf('/iterate', { flow, initial_input: 0 }));
      expect(result).toEqual({ outcome: 'failed', error: { code: 400, message: ITERATE_BAD_OUTPUT_MESSAGE } });
    }
  });

  it('prefers `result` when an output has both keys, even when it is null', async () => {
    const { plugin } = fakeHost(() => ({ outcome: 'success', value: { result: null, next: 1 } }));
    const result = await plugin.execute(callOf('/iterate', { flow, initial_input: 0 }));
    expect(result).toEqual({ outcome: 'success', value: { result: null, iterations: 1, terminated: false } });
  });

  it('returns a failure of an iteration as its own failed result', async () => {
    const failure = { outcome: 'failed', error: { code: 500, message: 'step "x" failed', data: { stepId: 'x' } } } as const;
    let calls = 0;
    const { plugin } = fakeHost((input) => (++calls === 2 ? failure : { outcome: 'success', value: { next: input } }));
    expect(await plugin.execute(callOf('/iterate', { flow, initial_input: 0 }))).toEqual(failure);
  });

  it('returns a skipped iteration as skipped', async () => {
    const { plugin } = fakeHost(() => ({ outcome: 'skipped' }));
    expect(await plugin.execute(callOf('/iterate', { flow, initial_input: 0 }))).toEqual({ outcome: 'skipped' });
  });

  it('stops between iterations with -32800 once the call is cancelled', async () => {
    const abort = new AbortController();
    const { plugin, childRuns } = fakeHost((input) => {
      if ((input as number) === 2) abort.abort();
      return { outcome: 'success', value: { next: (input as number) + 1 } };
    });
    const error = await componentError(plugin.execute(callOf('/iterate', { flow, initial_input: 0 }, { signal: abort.signal })));
    expect(error.code).toBe(-32800);
    expect(childRuns).toHaveLength(3);
    expect(childRuns[0]!.options.signal).toBe(abort.signal);
  });

  it('refuses a missing initial_input and a negative max_iterations with -32602', async () => {
    const { plugin } = fakeHost();
    expect((await componentError(plugin.execute(callOf('/iterate', { flow })))).message).toContain('"initial_input"');
    const negative = await componentError(plugin.execute(callOf('/iterate', { flow, initial_input: 0, max_iterations: -1 })));
    expect(negative.message).toContain('"max_iterations"');
  });
});
