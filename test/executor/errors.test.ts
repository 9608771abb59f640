import { describe, expect, it } from 'vitest';
import { executeItem, type ItemExecutionOptions } from '../../src/executor/item-executor.js';
import type { CompiledFlow } from '../../src/flow/compile.js';
import { componentError, transportError, FakeInvoker, flowOf, ok } from './fake-invoker.js';

const start = (flow: CompiledFlow, fake: FakeInvoker, opts: Partial<ItemExecutionOptions> = {}) =>
  executeItem(flow, { mode: 'x' }, { runId: 'run-1', itemIndex: 0, flowId: 'sha256:f', invoke: fake.invoke, ...opts });

/** A flow whose output is step `s` (component `/mock/error`) with the given onError. */
const stepFlow = (onError = '') => flowOf(`
steps:
  - id: s
    component: /mock/error
    input: { mode: { $input: mode } }
${onError ? `    onError: ${onError}` : ''}
output: { value: { $step: s } }
`);

const returnedFailure = { outcome: 'failed', error: { code: 8, message: 'error' } } as const;

describe('step failures', () => {
  it('fails the item with a component error as 500 "step <id> failed" carrying the cause', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw componentError(-32004, 'division by zero', { line: 3 });
    });
    expect(await start(stepFlow(), fake)).toEqual({
      result: {
        outcome: 'failed',
        error: {
          code: 500,
          message: 'step "s" failed',
          data: { stepId: 's', component: '/mock/error', cause: { code: -32004, message: 'division by zero', data: { line: 3 } } },
        },
      },
      attempts: 1,
    });
  });

  it('reports any other thrown error as 500 with a -32603 cause', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw new TypeError('bad thing');
    });
    expect((await start(stepFlow(), fake)).result).toEqual({
      outcome: 'failed',
      error: { code: 500, message: 'step "s" failed', data: { stepId: 's', component: '/mock/error', cause: { code: -32603, message: 'bad thing' } } },
    });
  });

  it('propagates a failed FlowResult returned by the component with its own code', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    expect((await start(stepFlow(), fake)).result).toEqual(returnedFailure);
  });

  it('propagates a step failure through a dependent step unchanged', async () => {
    const flow = flowOf(`
steps:
  - { id: a, component: /c }
  - { id: b, component: /c, input: { $step: a } }
output: { $step: b, path: x }
`);
    const fake = new FakeInvoker().on('a', () => {
      throw componentError(-32004);
    });
    const result = (await start(flow, fake)).result;
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 500, message: 'step "a" failed' } });
    expect(fake.callsOf('b')).toHaveLength(0);
  });

  it('onError useDefault replaces a failure with defaultValue, or null', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    expect((await start(stepFlow('{ action: useDefault, defaultValue: { output: d } }'), fake)).result).toEqual(ok({ value: { output: 'd' } }));
    expect((await start(stepFlow('{ action: useDefault }'), fake)).result).toEqual(ok({ value: null }));
  });

  it('onError useDefault applies to component errors too', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw componentError(-32004);
    });
    expect((await start(stepFlow('{ action: useDefault, defaultValue: 0 }'), fake)).result).toEqual(ok({ value: 0 }));
  });

  it('onError skip makes the step count as skipped', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    expect((await start(stepFlow('{ action: skip }'), fake)).result).toEqual({ outcome: 'skipped' });
  });

  it('onError fail keeps the failure', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    expect((await start(stepFlow('{ action: fail }'), fake)).result).toEqual(returnedFailure);
  });

  it('onError retry calls again with attempt + 1 and reports the attempts used', async () => {
    let calls = 0;
    const fake = new FakeInvoker().on('s', () => (++calls < 3 ? returnedFailure : ok('third time')));
    const outcome = await start(stepFlow('{ action: retry, maxRetries: 5, backoffMs: 1 }'), fake);
    expect(outcome).toEqual({ result: ok({ value: 'third time' }), attempts: 3 });
    expect(fake.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('onError retry fails after maxRetries retries', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    const outcome = await start(stepFlow('{ action: retry, maxRetries: 2, backoffMs: 0 }'), fake);
    expect(outcome).toEqual({ result: returnedFailure, attempts: 3 });
    expect(fake.calls).toHaveLength(3);
  });

  it('onError retry defaults to 3 retries', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    const flow = stepFlow('{ action: retry }');
    expect(flow.steps[0].onError).toEqual({ action: 'retry', maxRetries: 3, backoffMs: 100 });
    const outcome = await start(flowOf(`
steps:
  - { id: s, component: /c, onError: { action: retry, backoffMs: 0 } }
output: { $step: s }
`), fake);
    expect(outcome.attempts).toBe(4);
  });

  it('counts attempts from firstAttempt', async () => {
    const fake = new FakeInvoker().on('s', () => returnedFailure);
    const outcome = await start(stepFlow('{ action: retry, maxRetries: 1, backoffMs: 0 }'), fake, { firstAttempt: 5 });
    expect(fake.calls.map((c) => c.attempt)).toEqual([5, 6]);
    expect(outcome.attempts).toBe(6);
  });
});

describe('transport failures', () => {
  it('retries a transport failure with attempt + 1 and succeeds', async () => {
    let calls = 0;
    const fake = new FakeInvoker().on('s', () => {
      if (++calls <= 2) throw transportError('connection lost');
      return ok('back');
    });
    const outcome = await start(stepFlow(), fake);
    expect(outcome).toEqual({ result: ok({ value: 'back' }), attempts: 3 });
    expect(fake.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('gives up after transportRetries and fails the step with the -32005 cause', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw transportError('server down');
    });
    const outcome = await start(stepFlow(), fake, { transportRetries: 2 });
    expect(fake.calls).toHaveLength(3);
    expect(outcome.attempts).toBe(3);
    expect(outcome.result).toEqual({
      outcome: 'failed',
      error: { code: 500, message: 'step "s" failed', data: { stepId: 's', component: '/mock/error', cause: { code: -32005, message: 'server down' } } },
    });
  });

  it('does not retry a component error that is not a transport failure', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw componentError(-32001, 'component not found');
    });
    await start(stepFlow(), fake);
    expect(fake.calls).toHaveLength(1);
  });

  it('does not retry a -32005 the component answered itself (it is a component error)', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw componentError(-32005, 'db down');
    });
    const outcome = await start(stepFlow(), fake);
    expect(fake.calls).toHaveLength(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', error: { code: 500, data: { cause: { code: -32005, message: 'db down' } } } });
  });

  it('applies onError after transport retries are exhausted', async () => {
    const fake = new FakeInvoker().on('s', () => {
      throw transportError();
    });
    const outcome = await start(stepFlow('{ action: useDefault, defaultValue: fallback }'), fake, { transportRetries: 1 });
    expect(outcome).toEqual({ result: ok({ value: 'fallback' }), attempts: 2 });
  });

  it('reports a malformed invoker result as a 500 step failure', async () => {
    const fake = new FakeInvoker().on('s', () => ({ nope: true }) as never);
    expect((await start(stepFlow(), fake)).result).toMatchObject({
      outcome: 'failed',
      error: { code: 500, data: { cause: { code: -32603 } } },
    });
  });
});
