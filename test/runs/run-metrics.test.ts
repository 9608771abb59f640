import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type FlowResult } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { ComponentError } from '../../src/calls/component-error.js';
import { CallCounts, MAX_COUNTED_COMPONENTS, OTHER_COMPONENTS } from '../../src/calls/call-counts.js';
import type { StepInvoker } from '../../src/executor/item-executor.js';
import { ItemTally, RATE_WINDOW_SECONDS } from '../../src/runs/item-tally.js';
import { RunManager } from '../../src/runs/run-manager.js';

/** One step calling `/test/work`, retried once after a failure the component answers. */
const FLOW = {
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'work',
  steps: [{ id: 'work', component: '/test/work', input: { $input: '$' }, onError: { action: 'retry', maxRetries: 1, backoffMs: 0 } }],
  output: { $step: 'work' },
};

/**
 * Answers each item by its input `{do, attempt?}`: `ok`, `skip`, `fail` (a failed result),
 * `throw` (an error the component answered, -32004), `timeout` (-32006), `lost` (the connection
 * dropped: a transport failure), `bug` (a plain Error); from attempt 2 on every call succeeds.
 */
const invoke: StepInvoker = async (inv) => {
  const { do: what } = inv.input as { do: string };
  const context = { component: inv.component };
  if (inv.attempt > 1 || what === 'ok') return { outcome: 'success', value: inv.attempt };
  switch (what) {
    case 'skip':
      return { outcome: 'skipped' };
    case 'fail':
      return { outcome: 'failed', error: { code: 7, message: 'no' } } satisfies FlowResult;
    case 'throw':
      throw new ComponentError({ code: ErrorCodes.ComponentExecutionFailed, message: 'threw' }, context);
    case 'timeout':
      throw new ComponentError({ code: ErrorCodes.Timeout, message: 'too slow' }, context);
    case 'lost':
      throw ComponentError.transport({ code: ErrorCodes.ResourceUnavailable, message: 'server died' }, context);
    default:
      throw new Error('a bug');
  }
};

let manager: RunManager | undefined;
afterEach(async () => manager?.cancelAll());

const outcomes = (counts: CallCounts) => Object.fromEntries(counts.snapshot().map(({ component, ...byOutcome }) => [component, byOutcome]));

describe('RunManager metrics', () => {
  it('counts every component call, retries included, by component and outcome', async () => {
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke });
    const inputs = ['ok', 'skip', 'fail', 'throw', 'timeout', 'lost', 'bug'].map((what) => ({ do: what }));
    const status = await manager.submit({ flow: FLOW, inputs, wait: true, variables: {} });
    expect(status.items).toMatchObject({ success: 7, failed: 0 });
    // First attempts: ok, skip → success; fail, throw → failed; timeout, lost (a transport
    // failure), bug → error. Each of the last five is tried again and succeeds.
    expect(outcomes(manager.callCounts)).toEqual({ '/test/work': { success: 2 + 5, failed: 2, error: 3 } });
  });

  it('counts the items it settles by status, cancelled pending items included', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding: StepInvoker = async (inv) => {
      if ((inv.input as { do: string }).do === 'hold') await held;
      return invoke(inv);
    };
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: holding });
    const flow = { ...FLOW, steps: [{ ...FLOW.steps[0], onError: undefined }] };
    await manager.submit({ flow, inputs: [{ do: 'ok' }, { do: 'bug' }], wait: true, variables: {} });
    expect(manager.itemTally.settled).toEqual({ success: 1, failed: 1, cancelled: 0 });

    const run = await manager.submit({ flow, inputs: [{ do: 'hold' }, { do: 'ok' }, { do: 'ok' }], maxConcurrency: 1, wait: false, variables: {} });
    await manager.cancel(run.runId);
    release();
    await manager.get({ runId: run.runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    expect(manager.itemTally.settled).toEqual({ success: 1, failed: 1, cancelled: 3 });
  });
});

describe('CallCounts', () => {
  it('counts the calls of paths beyond the cap under one label', () => {
    const counts = new CallCounts();
    for (let i = 0; i < MAX_COUNTED_COMPONENTS + 5; i++) counts.answered(`/c/${i}`, { outcome: 'success', value: i });
    counts.rejected('/c/0', new Error('bug'));
    const all = outcomes(counts);
    expect(Object.keys(all)).toHaveLength(MAX_COUNTED_COMPONENTS + 1);
    expect(all['/c/0']).toEqual({ success: 1, failed: 0, error: 1 });
    expect(all[OTHER_COMPONENTS]).toEqual({ success: 5, failed: 0, error: 0 });
  });
});

describe('ItemTally', () => {
  const start = 1_700_000_000_000; // a whole second

  it('gives the rate over the last ten seconds, forgetting older items', () => {
    const tally = new ItemTally(start);
    for (let i = 0; i < 50; i++) tally.count('success', start + 100); // second 0
    for (let i = 0; i < 30; i++) tally.count('failed', start + 5_500); // second 5
    expect(tally.settled).toEqual({ success: 50, failed: 30, cancelled: 0 });
    // At 9.5 s: seconds 0–9, 9.5 s since the start.
    expect(tally.perSecond(start + 9_500)).toBeCloseTo(80 / 9.5);
    // At 12 s: seconds 3–12 hold only the 30 of second 5, over 9 s (from 3 s).
    expect(tally.perSecond(start + 12_000)).toBeCloseTo(30 / 9);
    // At 16 s: nothing in seconds 7–16.
    expect(tally.perSecond(start + 16_000)).toBe(0);
    expect(tally.settled).toEqual({ success: 50, failed: 30, cancelled: 0 });
  });

  it('reuses a slot for a later second without adding the earlier count', () => {
    const tally = new ItemTally(start);
    tally.count('success', start + 1_000);
    tally.count('cancelled', start + 1_000 + RATE_WINDOW_SECONDS * 1000);
    expect(tally.perSecond(start + 1_000 + RATE_WINDOW_SECONDS * 1000)).toBeCloseTo(1 / (RATE_WINDOW_SECONDS - 1));
  });

  it('spreads the first items over at least a second', () => {
    const tally = new ItemTally(start);
    for (let i = 0; i < 10; i++) tally.count('success', start + 5);
    expect(tally.perSecond(start + 10)).toBe(10);
  });
});
