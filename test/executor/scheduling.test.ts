import { describe, expect, it } from 'vitest';
import { executeItem, type ItemExecutionOptions } from '../../src/executor/item-executor.js';
import type { CompiledFlow } from '../../src/flow/compile.js';
import { FakeInvoker, flowOf, ok } from './fake-invoker.js';
import { settle } from '../support/wait-for.js';

const start = (flow: CompiledFlow, input: unknown, fake: FakeInvoker, opts: Partial<ItemExecutionOptions> = {}) =>
  executeItem(flow, input, { runId: 'run-1', itemIndex: 3, flowId: 'sha256:f', invoke: fake.invoke, ...opts });

describe('step scheduling', () => {
  it('runs independent steps concurrently: both are invoked before either resolves', async () => {
    const flow = flowOf(`
steps:
  - { id: a, component: /c, input: { $input: x } }
  - { id: b, component: /c, input: { $input: y } }
output: { a: { $step: a, path: input }, b: { $step: b, path: input } }
`);
    const fake = new FakeInvoker().hold('a', 'b');
    const outcome = start(flow, { x: 1, y: 2 }, fake);
    await Promise.all([fake.called('a'), fake.called('b')]);
    expect(fake.heldStepIds()).toEqual(['a', 'b']);
    fake.release('b');
    fake.release('a');
    expect((await outcome).result).toEqual(ok({ a: 1, b: 2 }));
  });

  it('starts a join step only when both of its inputs are available', async () => {
    const flow = flowOf(`
steps:
  - { id: join, component: /c, input: [{ $step: a, path: input }, { $step: b, path: input }] }
  - { id: a, component: /c, input: 1 }
  - { id: b, component: /c, input: 2 }
output: { $step: join, path: input }
`);
    const fake = new FakeInvoker().hold('a', 'b');
    const outcome = start(flow, null, fake);
    await fake.called('b');
    fake.release('a');
    await settle();
    expect(fake.callsOf('join')).toHaveLength(0);
    fake.release('b');
    expect((await outcome).result).toEqual(ok([1, 2]));
    expect(fake.stepIds()).toEqual(['a', 'b', 'join']);
  });

  it('runs each step once per item however many references it has', async () => {
    const flow = flowOf(`
steps:
  - { id: shared, component: /c, input: 0 }
  - { id: l, component: /c, input: { $step: shared } }
  - { id: r, component: /c, input: { $step: shared } }
output: [{ $step: l }, { $step: r }, { $step: shared }]
`);
    const fake = new FakeInvoker();
    await start(flow, null, fake);
    expect(fake.callsOf('shared')).toHaveLength(1);
    expect(fake.stepIds().sort()).toEqual(['l', 'r', 'shared']);
  });

  it('never runs a step nothing needs', async () => {
    const flow = flowOf(`
steps:
  - { id: used, component: /c }
  - { id: unused, component: /c }
output: { $step: used }
`);
    const fake = new FakeInvoker();
    await start(flow, null, fake);
    expect(fake.stepIds()).toEqual(['used']);
  });

  it('runs a mustExecute step that nothing references, and the item waits for it', async () => {
    const flow = flowOf(`
steps:
  - { id: audit, component: /c, mustExecute: true, input: { $input: $ } }
output: done
`);
    const fake = new FakeInvoker().hold('audit');
    let finished = false;
    const outcome = start(flow, 'x', fake).then((o) => ((finished = true), o));
    await fake.called('audit');
    await settle();
    expect(finished).toBe(false);
    fake.release('audit');
    expect((await outcome).result).toEqual(ok('done'));
  });

  it('fails the item when a mustExecute step fails, even though the output resolved', async () => {
    const flow = flowOf(`
steps:
  - { id: audit, component: /c, mustExecute: true }
output: done
`);
    const fake = new FakeInvoker().on('audit', () => ({ outcome: 'failed', error: { code: 9, message: 'audit failed' } }));
    expect((await start(flow, null, fake)).result).toEqual({ outcome: 'failed', error: { code: 9, message: 'audit failed' } });
  });

  it('does not fail the item when a mustExecute step is skipped', async () => {
    const flow = flowOf(`
steps:
  - { id: audit, component: /c, mustExecute: true, skipIf: true }
output: done
`);
    const fake = new FakeInvoker();
    expect((await start(flow, null, fake)).result).toEqual(ok('done'));
    expect(fake.calls).toHaveLength(0);
  });

  it('ignores a failed step that nothing needs', async () => {
    const flow = flowOf(`
steps:
  - { id: a, component: /c }
  - { id: broken, component: /c, mustExecute: false }
output: { $step: a, path: step }
`);
    const fake = new FakeInvoker().on('broken', () => ({ outcome: 'failed', error: { code: 1, message: 'x' } }));
    expect((await start(flow, null, fake)).result).toEqual(ok('a'));
  });

  it('passes the component path, input, attempt and scope to the invoker', async () => {
    const flow = flowOf(`
steps:
  - { id: s, component: /mock/one_output, input: { input: { $input: name } } }
output: { $step: s }
`);
    const fake = new FakeInvoker();
    const signal = new AbortController().signal;
    await start(flow, { name: 'a' }, fake, { signal });
    expect(fake.calls[0]).toEqual({
      stepId: 's',
      component: '/mock/one_output',
      input: { input: 'a' },
      attempt: 1,
      signal,
      scope: { runId: 'run-1', itemIndex: 3, stepId: 's', flowId: 'sha256:f' },
    });
  });

  it('settles without invoking anything when the output needs no step', async () => {
    const flow = flowOf(`
steps:
  - { id: s, component: /c }
output: { $input: x }
`);
    const fake = new FakeInvoker();
    expect(await start(flow, { x: 5 }, fake)).toEqual({ result: ok(5), attempts: 1 });
    expect(fake.calls).toHaveLength(0);
  });

  it('executes a flow many times without sharing state between items', async () => {
    const flow = flowOf(`
steps:
  - { id: s, component: /c, input: { $input: $ } }
output: { $step: s, path: input }
`);
    const fake = new FakeInvoker();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => start(flow, i, fake)));
    expect(results.map((r) => r.result)).toEqual(Array.from({ length: 50 }, (_, i) => ok(i)));
  });
});

describe('lazy $if and $coalesce', () => {
  const ifFlow = flowOf(`
steps:
  - { id: check, component: /c }
  - { id: yes, component: /c }
  - { id: no, component: /c }
output:
  $if: { $step: check, path: flag }
  then: { $step: yes, path: step }
  else: { $step: no, path: step }
`);

  it('runs the condition first and never invokes the untaken branch', async () => {
    const fake = new FakeInvoker().on('check', () => ok({ flag: true }));
    expect((await start(ifFlow, null, fake)).result).toEqual(ok('yes'));
    expect(fake.stepIds()).toEqual(['check', 'yes']);

    const fake2 = new FakeInvoker().on('check', () => ok({ flag: false }));
    expect((await start(ifFlow, null, fake2)).result).toEqual(ok('no'));
    expect(fake2.stepIds()).toEqual(['check', 'no']);
  });

  it('takes the else branch when the condition step failed', async () => {
    const fake = new FakeInvoker().on('check', () => ({ outcome: 'failed', error: { code: 1, message: 'x' } }));
    expect((await start(ifFlow, null, fake)).result).toEqual(ok('no'));
  });

  const coalesceFlow = flowOf(`
steps:
  - { id: first, component: /c }
  - { id: second, component: /c }
  - { id: third, component: /c }
output: { $coalesce: [{ $step: first }, { $step: second }, { $step: third }] }
`);

  it('needs $coalesce entries one at a time and stops at the first non-null value', async () => {
    const fake = new FakeInvoker().on('first', () => ok(null)).on('second', () => ok('two'));
    expect((await start(coalesceFlow, null, fake)).result).toEqual(ok('two'));
    expect(fake.stepIds()).toEqual(['first', 'second']);
  });

  it('treats a skipped entry as null in $coalesce', async () => {
    const flow = flowOf(`
steps:
  - { id: maybe, component: /c, skipIf: { $input: skip } }
  - { id: fallback, component: /c }
output: { $coalesce: [{ $step: maybe, path: step }, { $step: fallback, path: step }] }
`);
    const fake = new FakeInvoker();
    expect((await start(flow, { skip: true }, fake)).result).toEqual(ok('fallback'));
    expect(fake.stepIds()).toEqual(['fallback']);
    expect((await start(flow, { skip: false }, new FakeInvoker())).result).toEqual(ok('maybe'));
  });

  it('returns the failure of a failed $coalesce entry and needs no later entry', async () => {
    const fake = new FakeInvoker().on('first', () => ({ outcome: 'failed', error: { code: 4, message: 'nope' } }));
    expect((await start(coalesceFlow, null, fake)).result).toEqual({ outcome: 'failed', error: { code: 4, message: 'nope' } });
    expect(fake.stepIds()).toEqual(['first']);
  });
});

describe('skipIf and skip propagation', () => {
  const flow = flowOf(`
steps:
  - { id: a, component: /c, skipIf: { $input: skipA } }
  - { id: b, component: /c, input: { from: { $step: a } } }
  - { id: c, component: /c, input: { x: { $coalesce: [{ $step: a }, 'default'] } } }
output: { b: { $step: b, path: step }, c: { $step: c, path: input.x } }
`);

  it('skips a step whose skipIf is truthy without calling it, and the steps that need it', async () => {
    const fake = new FakeInvoker();
    expect((await start(flow, { skipA: true }, fake)).result).toEqual({ outcome: 'skipped' });
    expect(fake.calls).toHaveLength(0);
  });

  it('runs a step that reaches a skipped step only through $coalesce', async () => {
    const flow2 = flowOf(`
steps:
  - { id: a, component: /c, skipIf: true }
  - { id: c, component: /c, input: { x: { $coalesce: [{ $step: a }, 'default'] } } }
output: { $step: c, path: input.x }
`);
    const fake = new FakeInvoker();
    expect((await start(flow2, null, fake)).result).toEqual(ok('default'));
    expect(fake.stepIds()).toEqual(['c']);
  });

  it('runs the step when skipIf is false, null or failed', async () => {
    for (const skipA of [false, null, undefined]) {
      const fake = new FakeInvoker();
      const result = (await start(flow, skipA === undefined ? {} : { skipA }, fake)).result;
      expect(result).toMatchObject({ outcome: 'success', value: { b: 'b' } });
      expect(fake.callsOf('a')).toHaveLength(1);
    }
  });

  it('evaluates skipIf before the input, so a skipped step does not start its dependencies', async () => {
    const flow2 = flowOf(`
steps:
  - { id: dep, component: /c }
  - { id: s, component: /c, skipIf: true, input: { $step: dep } }
output: { $coalesce: [{ $step: s }, fallback] }
`);
    const fake = new FakeInvoker();
    expect((await start(flow2, null, fake)).result).toEqual(ok('fallback'));
    expect(fake.calls).toHaveLength(0);
  });

  it('skips a step whose skipIf needs a skipped step', async () => {
    const flow2 = flowOf(`
steps:
  - { id: gone, component: /c, skipIf: true }
  - { id: s, component: /c, skipIf: { $step: gone } }
output: { $step: s }
`);
    expect((await start(flow2, null, new FakeInvoker())).result).toEqual({ outcome: 'skipped' });
  });

  it('skips an $if whose condition needs a skipped step', async () => {
    const flow2 = flowOf(`
steps:
  - { id: gone, component: /c, skipIf: true }
output: { $if: { $step: gone }, then: 1, else: 2 }
`);
    expect((await start(flow2, null, new FakeInvoker())).result).toEqual({ outcome: 'skipped' });
  });

  it('fails a step without calling it when its input fails, and propagates that failure', async () => {
    const flow2 = flowOf(`
steps:
  - { id: s, component: /c, input: { $input: missing } }
output: { $step: s }
`);
    const fake = new FakeInvoker();
    expect((await start(flow2, {}, fake)).result).toEqual({
      outcome: 'failed',
      error: { code: -32009, message: 'path missing not found in input' },
    });
    expect(fake.calls).toHaveLength(0);
  });
});
