import { describe, expect, it } from 'vitest';
import { RunState } from '../../src/runs/run-state.js';

const makeRun = (total: number) => new RunState({ runId: 'r1', flowId: 'sha256:' + '0'.repeat(64), createdAt: 1_000, total });

describe('RunState.onItemSettled (how flowrun run streams results)', () => {
  it('hears every item that reaches a terminal state, cancelled ones included, until unsubscribed', () => {
    const run = makeRun(3);
    const heard: string[] = [];
    const subscription = run.onItemSettled(() => heard.push(`${run.counts.success}/${run.counts.cancelled}`));
    run.startItem(0);
    expect(heard).toEqual([]);
    run.finishItem(0, 'success', { outcome: 'success', value: 1 }, 1, 2_000);
    expect(heard).toEqual(['1/0']);
    run.cancelPending(3_000);
    expect(heard).toEqual(['1/0', '1/1', '1/2']);

    const other = makeRun(1);
    let calls = 0;
    other.onItemSettled(() => calls++).dispose();
    other.startItem(0);
    other.finishItem(0, 'failed', { outcome: 'failed', error: { code: 1, message: 'no' } }, 1, 2_000);
    expect(calls).toBe(0);
    subscription.dispose();
  });
});
