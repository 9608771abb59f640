import type { z } from 'zod';
import { exceedsJsonDepth, tooDeepError } from './json-depth.js';
import type { ComponentsExecuteParams, ComponentsExecuteResult } from './messages.js';
import type { FastPathCodec } from './methods.js';
import type { Observability } from './types.js';
import { ExecuteRequestParams } from './wire-json.js';

/**
 * The fast path of `components/execute` (bench/HISTORY.md), carried by its descriptor in
 * protocol/methods.ts and used by every `RpcPeer` that sends or serves it; not part of the
 * `protocol` entry. test/rpc/execute-fast-paths.test.ts holds it to the zod schemas, key by key.
 */

type ExecuteParams = z.output<typeof ComponentsExecuteParams>;
type ExecuteResult = z.output<typeof ComponentsExecuteResult>;

export const executeFastPath: FastPathCodec<typeof ComponentsExecuteParams, typeof ComponentsExecuteResult> = {
  writeParams: (params) => new ExecuteRequestParams(params.component, params.input, params.attempt, params.observability),
  parseParams: parseExecuteParamsFast,
  parseResult: parseExecuteResultFast,
};

/**
 * `components/execute` params of the usual shape, checked by hand.
 * Every call of a component server parses them; the zod schema (`ComponentsExecuteParams`) took
 * ≈0.1 µs of the ≈3 µs a small call costs the server. Returns what the schema's parse returns,
 * or `undefined` for anything unusual (trace ids, which need their pattern checked, or a value
 * the schema would refuse): the schema then decides and words the error.
 */
function parseExecuteParamsFast(value: unknown): ExecuteParams | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const component = v.component;
  // `input` must be there (the schema's z.unknown() requires the key), though it may be null.
  if (typeof component !== 'string' || !('input' in v)) return undefined;
  let attempt = v.attempt;
  if (attempt === undefined) attempt = 1;
  else if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) return undefined;
  let observability: Observability | undefined;
  if (v.observability !== undefined) {
    observability = observabilityIds(v.observability);
    if (observability === undefined) return undefined;
  }
  // Keys as the schema writes them: in its order, `observability` only when given.
  const parsed: ExecuteParams = { component, input: v.input, attempt: attempt as number };
  if (observability !== undefined) parsed.observability = observability;
  return parsed;
}

/**
 * What `ComponentsExecuteResult.parse(value)` returns (`{output}`, other keys dropped), or
 * `undefined` when the schema must decide. The runtime reads every call's answer through it, and
 * refuses here an output too deep to store or send on, naming the field (docs/state-stores.md).
 */
function parseExecuteResultFast(value: unknown): ExecuteResult | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('output' in value)) return undefined;
  const output = (value as { output: unknown }).output;
  if (exceedsJsonDepth(output)) throw tooDeepError('field "output" of the components/execute result', { field: 'output' });
  return { output };
}

/** An observability holding only run, flow and step ids (strings), copied without other keys. */
function observabilityIds(value: unknown): Observability | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (o.trace_id !== undefined || o.span_id !== undefined) return undefined;
  const ids: Observability = {};
  if (o.run_id !== undefined) {
    if (typeof o.run_id !== 'string') return undefined;
    ids.run_id = o.run_id;
  }
  if (o.flow_id !== undefined) {
    if (typeof o.flow_id !== 'string') return undefined;
    ids.flow_id = o.flow_id;
  }
  if (o.step_id !== undefined) {
    if (typeof o.step_id !== 'string') return undefined;
    ids.step_id = o.step_id;
  }
  return ids;
}
