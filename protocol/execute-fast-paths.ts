import type { ComponentsExecute, ParamsOut, ResultOut } from './methods.js';
import type { Observability } from './types.js';

/**
 * Hot-path helpers (bench/README.md): `components/execute` params and results of the usual shape, checked
 * by hand. The zod schemas stay the contract; test/rpc checks these functions against them.
 */

/**
 * `components/execute` params of the usual shape, checked by hand.
 * Every call of a component server parses them; the zod schema (`ComponentsExecuteParams`) took
 * ≈0.1 µs of the ≈3 µs a small call costs the server. Returns what the schema's parse returns,
 * or `undefined` for anything unusual (trace ids, which need their pattern checked, or a value
 * the schema would refuse): the schema then decides and words the error.
 */
export function parseExecuteParamsFast(value: unknown): ParamsOut<typeof ComponentsExecute> | undefined {
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
  const parsed: ParamsOut<typeof ComponentsExecute> = { component, input: v.input, attempt: attempt as number };
  if (observability !== undefined) parsed.observability = observability;
  return parsed;
}

/**
 * What `ComponentsExecuteResult.parse(value)` returns (`{output}`, other keys dropped), or
 * `undefined` when the schema must decide. The runtime reads every call's answer through it.
 */
export function parseExecuteResultFast(value: unknown): ResultOut<typeof ComponentsExecute> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('output' in value)) return undefined;
  return { output: (value as { output: unknown }).output };
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
