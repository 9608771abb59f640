import { describe, expect, it } from 'vitest';
import { startItem, type ItemOutcome, type ItemSink, type RunningItem } from '../../src/executor/item-executor.js';
import { FakeInvoker, flowOf, ok } from './fake-invoker.js';
import { settle } from '../support/wait-for.js';

const options = (fake: FakeInvoker) => ({ runId: 'run-1', itemIndex: 7, flowId: 'sha256:f', invoke: fake.invoke });

/** Records what the sink is told. */
function recorder(): ItemSink & { told: Array<{ index: number; outcome: ItemOutcome }> } {
  const told: Array<{ index: number; outcome: ItemOutcome }> = [];
  return { told, itemSettled: (item, result, attempts) => told.push({ index: item.itemIndex, outcome: { result, attempts } }) };
}

const oneStep = flowOf('steps: [{ id: a, component: /c }]\noutput: { $step: a }\n');
const cancelled = { outcome: 'failed', error: { code: -32800, message: 'item cancelled' } };

describe('startItem', () => {
  it('returns the outcome at once when the flow needs no call, without telling the sink', () => {
    const sink = recorder();
    const started = startItem(flowOf('steps: []\noutput: { k: 1 }\n'), null, options(new FakeInvoker()), sink);
    expect(started).toEqual({ result: ok({ k: 1 }), attempts: 1 });
    expect(sink.told).toEqual([]);
  });

  it('tells the sink the outcome of a running item once, with its index', async () => {
    const fake = new FakeInvoker().on('a', () => ok(5));
    const sink = recorder();
    const started = startItem(oneStep, null, options(fake), sink);
    expect('result' in started).toBe(false);
    await settle();
    expect(sink.told).toEqual([{ index: 7, outcome: { result: ok(5), attempts: 1 } }]);
  });

  it('settles as cancelled once when its caller calls aborted(), ignoring the late answer', async () => {
    const fake = new FakeInvoker().hold('a');
    const sink = recorder();
    const started = startItem(oneStep, null, options(fake), sink) as RunningItem;
    await fake.called('a');
    started.aborted();
    started.aborted();
    fake.release('a', ok(1));
    await settle();
    expect(sink.told).toEqual([{ index: 7, outcome: { result: cancelled, attempts: 1 } }]);
  });
});
