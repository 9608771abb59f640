import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as protocol from '../../protocol/index.js';
import { ComponentsExecute, ComponentsExecuteParams, ComponentsExecuteResult, ErrorCodes, MAX_JSON_DEPTH, ObservabilitySchema, RpcError } from '../../protocol/index.js';
import { RequestEnvelope, messageJson } from '../../protocol/wire-json.js';

/** The codec every RpcPeer uses for `components/execute`: what these tests hold to the schemas. */
const fastPath = ComponentsExecute.fastPath!;
const parseExecuteParamsFast = fastPath.parseParams;
const parseExecuteResultFast = fastPath.parseResult;

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

// --- The fast path locked to the schemas ---
// Values for every key of the schemas, usual ones and others. Typed by the schemas' keys, so a key
// a schema gains must be added here (the type check and the first test insist); the properties
// below then fail until the fast path reads and writes that key as the schema does.

type Arbitraries<S extends { shape: object }> = { [K in keyof S['shape']]: { usual: fc.Arbitrary<unknown>; other: fc.Arbitrary<unknown> } };

const junk = fc.constantFrom<unknown>(null, undefined, 0, -1, 1.5, '', 'x', true, [], {}, [1], { a: 1 });
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

const OBSERVABILITY: Arbitraries<typeof ObservabilitySchema> = {
  trace_id: { usual: fc.constant(undefined), other: fc.oneof(hex(32), fc.string()) },
  span_id: { usual: fc.constant(undefined), other: fc.oneof(hex(16), fc.string()) },
  run_id: { usual: fc.string(), other: junk },
  flow_id: { usual: fc.string(), other: junk },
  step_id: { usual: fc.string(), other: junk },
};

const PARAMS: Arbitraries<typeof ComponentsExecuteParams> = {
  component: { usual: fc.oneof(fc.constantFrom('/echo', '/python/udf'), fc.string()), other: junk },
  input: { usual: fc.jsonValue(), other: fc.constant(undefined) },
  attempt: { usual: fc.integer({ min: 1, max: 1_000 }), other: fc.oneof(junk, fc.constantFrom(2 ** 60, '1')) },
  observability: { usual: record(OBSERVABILITY, 'usual'), other: fc.oneof(junk, record(OBSERVABILITY, 'any')) },
};

const RESULT: Arbitraries<typeof ComponentsExecuteResult> = {
  output: { usual: fc.jsonValue(), other: fc.constant(undefined) },
};

/** Objects over the given keys (each present or not), with usual values only or any values. */
function record(arbs: Record<string, { usual: fc.Arbitrary<unknown>; other: fc.Arbitrary<unknown> }>, values: 'usual' | 'any'): fc.Arbitrary<Record<string, unknown>> {
  const chosen = Object.fromEntries(Object.entries(arbs).map(([key, a]) => [key, values === 'usual' ? a.usual : fc.oneof(a.usual, a.other)]));
  return fc.record(chosen, { requiredKeys: [] });
}

/** A value as it arrives: read from JSON text (an undefined field is no field; undefined params are none). */
const asReceived = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** Anything a peer may receive as params or result: objects over the schema's keys (and an extra key), or not an object. */
function received(arbs: Parameters<typeof record>[0]): fc.Arbitrary<unknown> {
  const extra = fc.option(fc.record({ extra: fc.jsonValue() }), { nil: {} });
  const any = fc.tuple(record(arbs, 'any'), extra).map(([r, e]) => ({ ...r, ...e }));
  return fc.oneof(record(arbs, 'usual'), any, junk).map(asReceived);
}

/** The params a runtime sends: every required key with a usual value, optional ones maybe; keys in the schema's order. */
const usualParams = fc.tuple(record(PARAMS, 'usual'), PARAMS.component.usual, PARAMS.input.usual).map(([r, component, input]) => {
  const params: Record<string, unknown> = { ...r, component, input };
  return asReceived(Object.fromEntries(Object.keys(PARAMS).filter((key) => key in params).map((key) => [key, params[key]]))) as Record<string, unknown>;
});

/** The fast answer equals the schema's, keys in the schema's order, or there is none. */
function expectAgreement(fast: unknown, schema: { success: boolean; data?: unknown }): void {
  if (fast === undefined) return;
  expect(schema.success).toBe(true);
  expect(fast).toStrictEqual(schema.data);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(schema.data));
}

describe('the components/execute fast path follows its schemas', () => {
  it('is known for every key of the params, observability and result schemas', () => {
    const hint = 'a key the schema has and the fast path may not: teach protocol/execute-fast-paths.ts (and wire-json.ts) and this test';
    expect(Object.keys(PARAMS), hint).toEqual(Object.keys(ComponentsExecuteParams.shape));
    expect(Object.keys(OBSERVABILITY), hint).toEqual(Object.keys(ObservabilitySchema.shape));
    expect(Object.keys(RESULT), hint).toEqual(Object.keys(ComponentsExecuteResult.shape));
  });

  it('parses params exactly as ComponentsExecuteParams does, or leaves them to it', () => {
    fc.assert(fc.property(received(PARAMS), (params) => expectAgreement(parseExecuteParamsFast(params), ComponentsExecuteParams.safeParse(params))), { numRuns: 1_000 });
  });

  it('takes the params a runtime sends itself', () => {
    fc.assert(
      fc.property(usualParams, (params) => {
        const fast = parseExecuteParamsFast(params);
        expect(fast).toBeDefined();
        expectAgreement(fast, ComponentsExecuteParams.safeParse(params));
      }),
      { numRuns: 300 },
    );
  });

  it('parses results exactly as ComponentsExecuteResult does, or leaves them to it', () => {
    fc.assert(fc.property(received(RESULT), (result) => expectAgreement(parseExecuteResultFast(result), ComponentsExecuteResult.safeParse(result))), { numRuns: 500 });
  });

  it('writes params with exactly the schema keys, in the text JSON.stringify writes', () => {
    fc.assert(
      fc.property(usualParams, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (params, id) => {
        const written = fastPath.writeParams(params as protocol.ParamsIn<typeof ComponentsExecute>);
        expect(Object.keys(written as object)).toEqual(Object.keys(ComponentsExecuteParams.shape));
        const text = messageJson(new RequestEnvelope(id, ComponentsExecute.method, written));
        expect(text).toBe(JSON.stringify({ jsonrpc: '2.0', id, method: ComponentsExecute.method, params }));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an output nested too deeply, naming the field', () => {
    let output: unknown = 1;
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) output = [output];
    const error = (() => {
      try {
        parseExecuteResultFast({ output });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(ErrorCodes.InvalidValue);
    expect((error as RpcError).message).toContain('field "output"');
  });

  it('stays out of the protocol entry', () => {
    for (const name of ['RequestEnvelope', 'ResultEnvelope', 'ExecuteRequestParams', 'messageJson', 'executeFastPath', 'parseExecuteParamsFast', 'parseExecuteResultFast']) {
      expect(Object.keys(protocol)).not.toContain(name);
    }
  });
});
