import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../../protocol/index.js';
import { callOf, componentError, fakeHost, parentScope } from './fake-host.js';

const workflow = { name: 'square', steps: [{ id: 'sq', component: '/tools/square', input: { $input: '$' } }], output: { $step: 'sq' } };

/** Squares numbers, fails on negatives, skips null. */
function square(input: unknown): FlowResult {
  if (input === null) return { outcome: 'skipped' };
  const n = input as number;
  return n < 0 ? { outcome: 'failed', error: { code: 7, message: `negative ${n}` } } : { outcome: 'success', value: n * n };
}

describe('/map', () => {
  it('runs the workflow over the items as one child run and returns Stepflow-shaped results by index with a count per outcome', async () => {
    const { plugin, childRuns } = fakeHost(square);
    const result = await plugin.execute(callOf('/map', { workflow, items: [1, -2, 3, null] }));
    expect(result).toEqual({
      outcome: 'success',
      value: {
        results: [
          { outcome: 'success', result: 1 },
          { outcome: 'failed', error: { code: 7, message: 'negative -2' } },
          { outcome: 'success', result: 9 },
          { outcome: 'skipped' },
        ],
        successful: 2,
        failed: 1,
        skipped: 1,
      },
    });
    expect(childRuns).toHaveLength(1);
    expect(childRuns[0]).toMatchObject({ inputs: [1, -2, 3, null], options: { parent: parentScope } });
  });

  it('passes the workflow as written, without parse defaults, and max_concurrency and the signal', async () => {
    const { plugin, childRuns } = fakeHost(square);
    const signal = new AbortController().signal;
    const bare = { output: { $input: '$' } };
    await plugin.execute(callOf('/map', { workflow: bare, items: [2], max_concurrency: 2 }, { signal }));
    expect(childRuns[0]!.flow).toEqual({ flow: bare });
    expect(childRuns[0]!.options).toMatchObject({ maxConcurrency: 2, signal });
  });

  it('leaves concurrency to the runtime when max_concurrency is absent or null', async () => {
    const { plugin, childRuns } = fakeHost(square);
    await plugin.execute(callOf('/map', { workflow, items: [1], max_concurrency: null }));
    expect(childRuns[0]!.options.maxConcurrency).toBeUndefined();
  });

  it('returns zero counts for no items', async () => {
    const { plugin } = fakeHost(square);
    const result = await plugin.execute(callOf('/map', { workflow, items: [] }));
    expect(result).toEqual({ outcome: 'success', value: { results: [], successful: 0, failed: 0, skipped: 0 } });
  });

  it('refuses a missing items list, a malformed workflow and max_concurrency 0 with -32602 naming the field', async () => {
    const { plugin, childRuns } = fakeHost(square);
    expect((await componentError(plugin.execute(callOf('/map', { workflow })))).message).toContain('"items"');
    const badStep = await componentError(plugin.execute(callOf('/map', { workflow: { steps: [{ id: 'a' }] }, items: [] })));
    expect(badStep).toMatchObject({ code: -32602, message: expect.stringContaining('"workflow.steps[0].component"') });
    const zero = await componentError(plugin.execute(callOf('/map', { workflow, items: [1], max_concurrency: 0 })));
    expect(zero.message).toContain('"max_concurrency"');
    expect(childRuns).toHaveLength(0);
  });
});
