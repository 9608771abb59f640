import { describe, expect, it } from 'vitest';
import { executeItem, type ItemExecutionOptions } from '../../src/executor/item-executor.js';
import type { Flow } from '../../protocol/index.js';
import { compileFlow, type CompiledFlow } from '../../src/flow/compile.js';
import { FakeInvoker, ok } from './fake-invoker.js';

const run = (flow: CompiledFlow, input: unknown, fake = new FakeInvoker(), opts: Partial<ItemExecutionOptions> = {}) =>
  executeItem(flow, input, { runId: 'run-1', itemIndex: 0, flowId: 'sha256:f', invoke: fake.invoke, ...opts }).then((o) => o.result);

const jsonFlow = (flow: unknown): CompiledFlow => compileFlow(flow as Flow);
/** A flow without steps whose output is `expr`. */
const outputFlow = (expr: unknown): CompiledFlow => jsonFlow({ steps: [], output: expr });

describe('expression evaluation', () => {
  it('resolves plain JSON element-wise and keeps it as is', async () => {
    const flow = outputFlow({ a: [1, 'two', null, { b: true }] });
    expect(await run(flow, null)).toEqual(ok({ a: [1, 'two', null, { b: true }] }));
  });

  it('resolves $input with the whole input for "", "$" and null', async () => {
    for (const path of ['', '$', null]) {
      expect(await run(outputFlow({ $input: path }), { x: 1 })).toEqual(ok({ x: 1 }));
    }
  });

  it('reads nested input with a bare dotted name and with JSONPath forms', async () => {
    const input = { a: { b: [10, { 'c.d': 'deep', 'e f': 5 }] } };
    expect(await run(outputFlow({ $input: 'a.b' }), input)).toEqual(ok([10, { 'c.d': 'deep', 'e f': 5 }]));
    expect(await run(outputFlow({ $input: 'a.b[0]' }), input)).toEqual(ok(10));
    expect(await run(outputFlow({ $input: '$.a.b[1]["c.d"]' }), input)).toEqual(ok('deep'));
    expect(await run(outputFlow({ $input: "$['a'].b[1]['e f']" }), input)).toEqual(ok(5));
  });

  it('fails with -32009 naming the path and the input when the input path is missing', async () => {
    expect(await run(outputFlow({ x: { $input: 'a.missing' } }), { a: {} })).toEqual({
      outcome: 'failed',
      error: { code: -32009, message: 'path a.missing not found in input' },
    });
  });

  it('returns $literal untouched, even when it looks like an expression', async () => {
    const flow = outputFlow({ $literal: { $input: 'x', $step: 'nope' } });
    expect(await run(flow, { x: 1 })).toEqual(ok({ $input: 'x', $step: 'nope' }));
  });

  it('resolves $step with and without a path', async () => {
    const flow = jsonFlow({
      steps: [{ id: 's', component: '/c', input: { $input: '$' } }],
      output: { whole: { $step: 's' }, part: { $step: 's', path: 'input.n' }, json: { $step: 's', path: '$.input.n' } },
    });
    expect(await run(flow, { n: 7 })).toEqual(ok({ whole: { step: 's', input: { n: 7 } }, part: 7, json: 7 }));
  });

  it('fails with -32009 naming the step when a step path is missing', async () => {
    const flow = jsonFlow({ steps: [{ id: 's', component: '/c' }], output: { $step: 's', path: 'nope' } });
    expect(await run(flow, null)).toEqual({ outcome: 'failed', error: { code: -32009, message: 'path nope not found in step "s"' } });
  });

  it('gives null under a path when the step succeeded with null', async () => {
    const flow = jsonFlow({ steps: [{ id: 's', component: '/c' }], output: { $step: 's', path: 'a.b' } });
    expect(await run(flow, null, new FakeInvoker().on('s', () => ok(null)))).toEqual(ok(null));
  });

  it('supports the legacy $from form for steps and for the workflow input', async () => {
    const flow = jsonFlow({
      steps: [{ id: 's', component: '/c', input: { v: { $from: { workflow: 'input' }, path: 'v' } } }],
      output: { $from: { step: 's' }, path: 'input.v' },
    });
    expect(await run(flow, { v: 'hi' })).toEqual(ok('hi'));
  });

  describe('$variable', () => {
    const flow = jsonFlow({
      schemas: { properties: { variables: { properties: { region: { type: 'string', default: 'eu' }, cfg: { default: { a: { b: 1 } } } } } } },
      steps: [],
      output: {
        region: { $variable: 'region' },
        nested: { $variable: 'cfg.a.b' },
        withDefault: { $variable: 'missing', default: { $input: 'fallback' } },
      },
    });

    it('takes run variables first', async () => {
      expect(await run(flow, { fallback: 'f' }, undefined, { variables: { region: 'us', cfg: { a: { b: 2 } } } })).toEqual(
        ok({ region: 'us', nested: 2, withDefault: 'f' }),
      );
    });

    it('falls back to the variables schema default, then to the expression default', async () => {
      expect(await run(flow, { fallback: 'f' })).toEqual(ok({ region: 'eu', nested: 1, withDefault: 'f' }));
    });

    it('reads defaults from a flat schemas.variables too', async () => {
      const flat = jsonFlow({ schemas: { variables: { properties: { k: { default: 3 } } } }, output: { $variable: 'k' } });
      expect(await run(flat, null)).toEqual(ok(3));
    });

    it('fails with -32009 when a variable is not defined anywhere', async () => {
      expect(await run(outputFlow({ $variable: 'ghost' }), null)).toEqual({
        outcome: 'failed',
        error: { code: -32009, message: 'variable "ghost" is not defined' },
      });
    });

    it('fails naming the variable when its sub-path is missing', async () => {
      expect(await run(outputFlow({ $variable: 'v.x' }), null, undefined, { variables: { v: {} } })).toEqual({
        outcome: 'failed',
        error: { code: -32009, message: 'path v.x not found in variable "v"' },
      });
    });
  });

  describe('$if', () => {
    const flow = outputFlow({ $if: { $input: 'c' }, then: 'yes', else: 'no' });

    it('takes then for every value but null and false', async () => {
      for (const c of [true, 0, '', [], {}, 'x']) expect(await run(flow, { c })).toEqual(ok('yes'));
      for (const c of [false, null]) expect(await run(flow, { c })).toEqual(ok('no'));
    });

    it('counts a failed condition as false', async () => {
      expect(await run(flow, {})).toEqual(ok('no'));
    });

    it('gives null when the condition is false and there is no else', async () => {
      expect(await run(outputFlow({ $if: false, then: 1 }), null)).toEqual(ok(null));
    });
  });

  describe('$coalesce', () => {
    it('returns the first value that is not null', async () => {
      const flow = outputFlow({ $coalesce: [null, { $input: 'a' }, { $input: 'b' }, 'last'] });
      expect(await run(flow, { a: null, b: 0 })).toEqual(ok(0));
      expect(await run(flow, { a: null, b: null })).toEqual(ok('last'));
    });

    it('gives null when every entry is null', async () => {
      expect(await run(outputFlow({ $coalesce: [null, null] }), null)).toEqual(ok(null));
    });

    it('returns the first failure it meets', async () => {
      const flow = outputFlow({ $coalesce: [null, { $input: 'missing' }, 'never'] });
      expect(await run(flow, {})).toMatchObject({ outcome: 'failed', error: { code: -32009 } });
    });
  });

  it('applies the precedence $literal > $if > $coalesce > $step > $input > $variable', async () => {
    const flow = jsonFlow({
      steps: [{ id: 's', component: '/c' }],
      output: {
        lit: { $literal: 1, $if: true, then: 2 },
        iff: { $if: true, then: 'if', $coalesce: ['co'] },
        co: { $coalesce: ['co'], $step: 's' },
        step: { $step: 's', path: 'step', $input: 'x' },
        input: { $input: 'x', $variable: 'v', default: 'var' },
      },
    });
    expect(await run(flow, { x: 'in' })).toEqual(ok({ lit: 1, iff: 'if', co: 'co', step: 's', input: 'in' }));
  });

  it('returns the first failure in entry order from an object', async () => {
    const flow = jsonFlow({
      steps: [{ id: 'a', component: '/c' }, { id: 'b', component: '/c' }],
      output: { x: { $step: 'a' }, y: { $step: 'b' } },
    });
    const fake = new FakeInvoker()
      .on('a', () => ({ outcome: 'failed', error: { code: 1, message: 'a' } }))
      .on('b', () => ({ outcome: 'failed', error: { code: 2, message: 'b' } }));
    expect(await run(flow, null, fake)).toEqual({ outcome: 'failed', error: { code: 1, message: 'a' } });
  });
});
