import type { Observability } from './types.js';

/**
 * Hot-path helpers (bench/HISTORY.md): the JSON text of outgoing requests and results, assembled by
 * hand. Internal: `RpcPeer` and the NDJSON writer use them, the `protocol` entry does not export them.
 *
 * Node 20's V8 stringifies nested objects slowly: a `components/execute` request with its
 * observability took ≈1 µs in `JSON.stringify`, the largest single cost of a call on the runtime
 * side; assembled from its parts (with the observability of a step serialized once) it takes
 * 0.25–0.4 µs. The text is exactly what `JSON.stringify` writes, and the objects enumerate like the
 * plain objects they replace, so any writer may still stringify them itself.
 */

/** An outgoing request `{jsonrpc, id, method, params}`, knowing its own JSON text. */
export class RequestEnvelope {
  readonly jsonrpc: '2.0';
  readonly id: number;
  readonly method: string;
  readonly params: unknown;

  constructor(id: number, method: string, params: unknown) {
    // Assigned in wire order: the enumeration order is the key order of JSON.stringify.
    this.jsonrpc = '2.0';
    this.id = id;
    this.method = method;
    this.params = params;
  }

  toJsonText(): string {
    if (this.params instanceof ExecuteRequestParams) {
      const text = this.params.requestJsonText(this.id, this.method);
      if (text !== undefined) return text;
    }
    const params = this.params instanceof ExecuteRequestParams ? this.params.toJsonText() : JSON.stringify(this.params);
    const head = `{"jsonrpc":"2.0","id":${numberJson(this.id)},"method":${JSON.stringify(this.method)}`;
    return params === undefined ? `${head}}` : `${head},"params":${params}}`;
  }
}

/** A successful response `{jsonrpc, id, result}`, knowing its own JSON text. */
export class ResultEnvelope {
  readonly jsonrpc: '2.0';
  readonly id: string | number;
  readonly result: unknown;

  constructor(id: string | number, result: unknown) {
    this.jsonrpc = '2.0';
    this.id = id;
    this.result = result;
  }

  toJsonText(): string {
    const id = typeof this.id === 'number' ? numberJson(this.id) : JSON.stringify(this.id);
    const result = JSON.stringify(this.result);
    return result === undefined ? `{"jsonrpc":"2.0","id":${id}}` : `{"jsonrpc":"2.0","id":${id},"result":${result}}`;
  }
}

/** The params of `components/execute` (docs/protocol.md), knowing their own JSON text. */
export class ExecuteRequestParams {
  readonly component: string;
  readonly input: unknown;
  readonly attempt: number | undefined;
  readonly observability: Observability | undefined;

  constructor(component: string, input: unknown, attempt: number | undefined, observability: Observability | undefined) {
    this.component = component;
    this.input = input;
    this.attempt = attempt;
    this.observability = observability;
  }

  /**
   * The whole request's text, `{"jsonrpc":"2.0","id":…,"method":…,"params":…}`, when the id is an
   * integer, the input has a JSON text and the observability (if any) is frozen; else undefined. What surrounds the input is made once
   * per method, component, attempt and observability object ({@link RequestShape}): the calls of a
   * step of a run share them, so a request costs the input's text and four concatenations.
   */
  requestJsonText(id: number, method: string): string | undefined {
    // A shape is kept by the observability object's identity: only frozen ones cannot change.
    const observability = this.observability;
    if (observability !== undefined && !Object.isFrozen(observability)) return undefined;
    const input = JSON.stringify(this.input);
    if (input === undefined || !Number.isSafeInteger(id) || typeof this.attempt !== 'number') return undefined;
    let shape = lastShape;
    if (shape === undefined || shape.method !== method || shape.component !== this.component || shape.attempt !== this.attempt || shape.observability !== this.observability) {
      shape = lastShape = new RequestShape(method, this.component, this.attempt, this.observability);
    }
    return `{"jsonrpc":"2.0","id":${id}${shape.beforeInput}${input}${shape.afterInput}`;
  }

  toJsonText(): string {
    // Keys whose value JSON.stringify drops (undefined, functions) are left out, as it does. (One
    // difference no JSON value sees: a `toJSON` of the input would get the key '' instead of 'input'.)
    let text = `{"component":${JSON.stringify(this.component)}`;
    const input = JSON.stringify(this.input);
    if (input !== undefined) text += `,"input":${input}`;
    if (typeof this.attempt === 'number') text += `,"attempt":${numberJson(this.attempt)}`;
    else if (this.attempt !== undefined) text += `,"attempt":${JSON.stringify(this.attempt)}`;
    if (this.observability !== undefined) text += `,"observability":${observabilityJson(this.observability)}`;
    return `${text}}`;
  }
}

/** The text of an execute request around its id and input (see `requestJsonText`). */
class RequestShape {
  readonly beforeInput: string;
  readonly afterInput: string;

  constructor(
    readonly method: string,
    readonly component: string,
    readonly attempt: number,
    readonly observability: Observability | undefined,
  ) {
    this.beforeInput = `,"method":${JSON.stringify(method)},"params":{"component":${JSON.stringify(component)},"input":`;
    const observabilityText = observability === undefined ? '' : `,"observability":${observabilityJson(observability)}`;
    this.afterInput = `,"attempt":${numberJson(attempt)}${observabilityText}}}`;
  }
}

/** The shape used last: consecutive requests mostly belong to the same step of the same run. */
let lastShape: RequestShape | undefined;

/** The JSON text of a message: its own when it knows it, else `JSON.stringify`. */
export function messageJson(message: unknown): string {
  return message instanceof RequestEnvelope || message instanceof ResultEnvelope ? message.toJsonText() : JSON.stringify(message);
}

/**
 * Text of frozen observability objects, serialized once. A plugin shares one frozen object among
 * all calls of a step of a run (they carry the same ids); per-call ones (with trace ids) are not
 * frozen and are serialized each time.
 */
const frozenObservabilityJson = new WeakMap<Observability, string>();

function observabilityJson(observability: Observability): string {
  if (!Object.isFrozen(observability)) return JSON.stringify(observability);
  let text = frozenObservabilityJson.get(observability);
  if (text === undefined) {
    text = JSON.stringify(observability);
    frozenObservabilityJson.set(observability, text);
  }
  return text;
}

function numberJson(n: number): string {
  // Request ids are positive integers; anything else takes JSON.stringify's rules (NaN → null).
  return Number.isSafeInteger(n) ? String(n) : JSON.stringify(n);
}
