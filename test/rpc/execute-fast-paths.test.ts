import { describe, expect, it } from 'vitest';
import { ComponentsExecuteParams, ComponentsExecuteResult, parseExecuteParamsFast, parseExecuteResultFast } from '../../protocol/index.js';

/** Params the fast path must either parse exactly as the schema does, or leave to the schema. */
const CASES: unknown[] = [
  { component: '/echo', input: { x: 1 }, attempt: 1, observability: { run_id: 'r', flow_id: 'f', step_id: 's' } },
  { component: '/echo', input: null },
  { component: '/echo' },
  { component: '/echo', input: [1, 2], attempt: 3, extra: true },
  { component: '/echo', input: 1, observability: { run_id: 'r', other: 1 } },
  { component: '/echo', input: 1, observability: {} },
  { component: '/echo', input: 1, observability: { trace_id: '0'.repeat(32), span_id: '0'.repeat(16) } },
  { component: '/echo', input: 1, observability: { trace_id: 'nothex' } },
  { component: '/echo', input: 1, observability: { run_id: 5 } },
  { component: '/echo', input: 1, observability: null },
  { component: '/echo', input: 1, observability: [] },
  { component: '/echo', attempt: 0 },
  { component: '/echo', attempt: 1.5 },
  { component: '/echo', attempt: '1' },
  { component: '/echo', attempt: 2 ** 60 },
  { component: '/echo', attempt: null },
  { component: 7, input: 1 },
  { input: 1 },
  [],
  null,
  'params',
  JSON.parse('{"component":"/echo","input":1,"__proto__":{"x":1}}'),
];

describe('parseExecuteParamsFast', () => {
  it.each(CASES.map((c) => [JSON.stringify(c), c]))('agrees with ComponentsExecuteParams on %s', (_text, params) => {
    const fast = parseExecuteParamsFast(params);
    const schema = ComponentsExecuteParams.safeParse(params);
    if (fast === undefined) return; // left to the schema
    expect(schema.success).toBe(true);
    expect(fast).toStrictEqual(schema.data);
    expect(Object.keys(fast)).toEqual(Object.keys(schema.data!));
    if (fast.observability) expect(Object.keys(fast.observability)).toEqual(Object.keys(schema.data!.observability!));
  });

  it('takes the usual params of a runtime call itself', () => {
    expect(parseExecuteParamsFast({ component: '/a', input: 1, attempt: 2, observability: { run_id: 'r', flow_id: 'f', step_id: 's' } })).toEqual({
      component: '/a', input: 1, attempt: 2, observability: { run_id: 'r', flow_id: 'f', step_id: 's' },
    });
  });
});

describe('parseExecuteResultFast', () => {
  const results: unknown[] = [{ output: { x: 1 } }, { output: null }, { output: 1, extra: 2 }, {}, [], null, 'x', { outputs: 1 }];
  it.each(results.map((r) => [JSON.stringify(r), r]))('agrees with ComponentsExecuteResult on %s', (_text, result) => {
    const fast = parseExecuteResultFast(result);
    const schema = ComponentsExecuteResult.safeParse(result);
    if (fast === undefined) return; // left to the schema
    expect(schema.success).toBe(true);
    expect(fast).toStrictEqual(schema.data);
  });

  it('takes an answer with output itself, dropping other keys', () => {
    expect(parseExecuteResultFast({ output: 1, extra: 2 })).toStrictEqual({ output: 1 });
  });
});
