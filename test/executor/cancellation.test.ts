import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../protocol/index.js';
import { executeItem, type ItemExecutionOptions } from '../../src/executor/item-executor.js';
import type { CompiledFlow } from '../../src/flow/compile.js';
import { FakeInvoker, flowOf } from './fake-invoker.js';
import { settle } from '../support/wait-for.js';

const start = (flow: CompiledFlow, fake: FakeInvoker, opts: Partial<ItemExecutionOptions> = {}) =>
  executeItem(flow, null, { runId: 'run-1', itemIndex: 0, flowId: 'sha256:f', invoke: fake.invoke, ...opts });

const cancelled = { outcome: 'failed', error: { code: -32800, message: 'item cancelled' } };

describe('cancellation', () => {
  const chain = flowOf(`
steps:
  - { id: a, component: /c }
  - { id: b, component: /c }
  - { id: after, component: /c, input: [{ $step: a }, { $step: b }] }
output: { $step: after }
`);

  it('settles at once and aborts the in-flight invocations', async () => {
    const fake = new FakeInvoker().hold('a', 'b');
    const controller = new AbortController();
    const outcome = start(chain, fake, { signal: controller.signal });
    await Promise.all([fake.called('a'), fake.called('b')]);
    controller.abort();
    expect(await outcome).toEqual({ result: cancelled, attempts: 1 });
    expect(fake.aborted.sort()).toEqual(['a', 'b']);
  });

  it('settles even when an invocation ignores the signal', async () => {
    const controller = new AbortController();
    const fake = new FakeInvoker().on('a', () => new Promise(() => {}));
    const outcome = start(flowOf('steps: [{ id: a, component: /c }]\noutput: { $step: a }\n'), fake, { signal: controller.signal });
    await fake.called('a');
    controller.abort();
    expect((await outcome).result).toEqual(cancelled);
  });

  it('starts no further step after cancellation, even when a call still succeeds', async () => {
    let finishA: (r: FlowResult) => void = () => {};
    const fake = new FakeInvoker().on('a', () => new Promise<FlowResult>((resolve) => (finishA = resolve)));
    const controller = new AbortController();
    const outcome = start(chain, fake, { signal: controller.signal });
    await Promise.all([fake.called('a'), fake.called('b')]);
    await settle();
    controller.abort();
    expect((await outcome).result).toEqual(cancelled);
    finishA({ outcome: 'success', value: 1 });
    await settle();
    expect(fake.callsOf('after')).toHaveLength(0);
  });

  it('does not wait out a retry backoff', async () => {
    const fake = new FakeInvoker().on('s', () => ({ outcome: 'failed', error: { code: 1, message: 'flaky' } }));
    const flow = flowOf(`
steps:
  - { id: s, component: /c, onError: { action: retry, maxRetries: 3, backoffMs: 3600000 } }
output: { $step: s }
`);
    const controller = new AbortController();
    const outcome = start(flow, fake, { signal: controller.signal });
    await fake.called('s');
    await settle();
    controller.abort();
    expect((await outcome).result).toEqual(cancelled);
    await settle();
    expect(fake.calls).toHaveLength(1);
  });

  it('cancels many items sharing one signal at once, without piling listeners onto the signal', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const fake = new FakeInvoker().on('a', () => new Promise(() => {}));
      const flow = flowOf('steps: [{ id: a, component: /c }]\noutput: { $step: a }\n');
      const items = Array.from({ length: 100 }, () => start(flow, fake, { signal: controller.signal }));
      await fake.called('a', 100);
      controller.abort();
      const outcomes = await Promise.all(items);
      expect(outcomes.map((o) => o.result)).toEqual(Array(100).fill(cancelled));
      await settle();
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('returns cancelled without invoking anything when the signal is already aborted', async () => {
    const fake = new FakeInvoker();
    const outcome = await start(chain, fake, { signal: AbortSignal.abort(), firstAttempt: 2 });
    expect(outcome).toEqual({ result: cancelled, attempts: 2 });
    expect(fake.calls).toHaveLength(0);
  });

  it('keeps a result that arrived before the cancellation', async () => {
    const controller = new AbortController();
    const fake = new FakeInvoker();
    const outcome = await start(chain, fake, { signal: controller.signal });
    controller.abort();
    expect(outcome.result.outcome).toBe('success');
  });
});
