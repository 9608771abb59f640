import type { ComponentInfo, FlowResult, Observability } from '../../protocol/index.js';

/** Where a component call happens: the run, item and step it serves. */
export interface ExecutionScope {
  runId: string;
  itemIndex: number;
  stepId: string;
  flowId: string;
}

/** One call of a component through a plugin. */
export interface ComponentCall {
  /** Plugin-relative component path, as produced by routing (e.g. `/echo`). */
  component: string;
  input: unknown;
  /** 1 on the first try; raised on every retry (transport retries and onError retries). */
  attempt: number;
  scope: ExecutionScope;
  observability?: Observability;
  /** Aborted when the run is cancelled: the plugin cancels the call on the server. */
  signal?: AbortSignal;
  /** Per-call timeout; undefined means the plugin's default (none unless configured). */
  timeoutMs?: number;
}

/**
 * A source of components (`plugins` in docs/config.md): a stdio or WebSocket component server, the mock
 * plugin, the builtins.
 *
 * `execute` resolves to a FlowResult: `success` with the output, or a `failed` result that the
 * plugin *returns* as such (mock `outcome: failed`, builtins) and that propagates with its own
 * code. It rejects with a `ComponentError` when the component answered with an error, or when
 * the call could not be completed (transport down after retries, timeout, cancelled).
 */
export interface Plugin {
  readonly name: string;
  /** Starts the plugin (spawns and initializes its server). Called once, before any call. */
  start(): Promise<void>;
  execute(call: ComponentCall): Promise<FlowResult>;
  /** Lists the components this plugin serves (plugin-relative paths). */
  listComponents(): Promise<ComponentInfo[]>;
  close(): Promise<void>;
}
