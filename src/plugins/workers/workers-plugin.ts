import { ErrorCodes, type ComponentInfo, type FlowResult } from '../../../protocol/index.js';
import { ComponentError } from '../../calls/component-error.js';
import type { ComponentCall, Plugin } from '../../calls/plugin.js';
import { delayMs, nonEmptyString } from '../../options.js';
import { callContext, componentWhat, DEFAULT_CALL_TIMEOUT_MS } from '../stepflow-plugin.js';
import { requestFailure } from '../stepflow/request-failure.js';
import type { ExecuteFailureMapper, ServerConnection } from '../stepflow/server-connection.js';
import { SharedObservability } from '../stepflow/shared-observability.js';
import type { Worker } from './worker.js';
import type { NoWorkerReason, WorkerPool } from './worker-pool.js';
import type { WorkerRegistry } from './worker-registry.js';

/** Options of {@link WorkersPlugin} (`type: workers` in docs/config.md). */
export interface WorkersPluginOptions {
  /** The plugin name from the config. */
  name: string;
  /** The pool whose workers serve the calls. */
  pool: string;
  registry: WorkerRegistry;
  /** Default per-call timeout of `components/execute`, in ms; a step's own wins. Default 300 000. */
  timeoutMs?: number;
  /** How long a call waits for a worker with room before it fails with -32005. Default 30 000. */
  waitForWorkerMs?: number;
}

export const DEFAULT_WAIT_FOR_WORKER_MS = 30_000;

/**
 * Routes calls to a pool of workers that dialled in (docs/workers.md): each call goes to the
 * least-loaded worker of the pool that registered its component, never above its capacity, over
 * the worker's own connection. A call lost with its worker is a transport failure, which the
 * executor retries (`transportRetries`) on another worker with `attempt + 1`.
 */
export class WorkersPlugin implements Plugin, ExecuteFailureMapper {
  readonly name: string;
  private readonly pool: WorkerPool;
  private readonly registry: WorkerRegistry;
  private readonly timeoutMs: number;
  private readonly waitForWorkerMs: number;
  private readonly observability = new SharedObservability();

  constructor(options: WorkersPluginOptions) {
    this.name = nonEmptyString('WorkersPlugin: "name"', options.name);
    const pool = nonEmptyString(`"plugins.${this.name}.pool"`, options.pool);
    this.timeoutMs = delayMs(`"plugins.${this.name}.timeoutMs"`, options.timeoutMs, DEFAULT_CALL_TIMEOUT_MS);
    this.waitForWorkerMs = delayMs(`"plugins.${this.name}.waitForWorkerMs"`, options.waitForWorkerMs, DEFAULT_WAIT_FOR_WORKER_MS);
    this.registry = options.registry;
    this.pool = options.registry.pool(pool);
  }

  /** Nothing to start: workers come and go on their own. */
  async start(): Promise<void> {}

  execute(call: ComponentCall): Promise<FlowResult> {
    const got = this.pool.acquire(call.component, call.signal, this.waitForWorkerMs, (reason) => this.noWorker(call, reason));
    if (!(got instanceof Promise)) return this.executeOn(got, call);
    return got.then((worker) => this.executeOn(worker, call));
  }

  /** The components the pool's workers registered, as connected now. */
  async listComponents(): Promise<ComponentInfo[]> {
    return [...this.pool.components().values()];
  }

  /** The workers belong to the runtime's registry, which closes them. */
  async close(): Promise<void> {}

  /** ExecuteFailureMapper: how a failed execute request on a worker rejects its call. */
  async executeFailed(error: unknown, connection: ServerConnection, call: ComponentCall): Promise<never> {
    const worker = this.registry.workerOf(connection);
    const label = worker?.label ?? `a worker of pool "${this.pool.name}"`;
    const server = { phrase: label, where: label, data: { plugin: this.name, pool: this.pool.name, workerId: worker?.id, worker: worker?.name } };
    throw await requestFailure(error, connection, componentWhat(call), callContext(this.name, call), server);
  }

  private executeOn(worker: Worker, call: ComponentCall): Promise<FlowResult> {
    const spelling = worker.spellingOf(call.component)!;
    const sent = spelling === call.component ? call : { ...call, component: spelling };
    // The pool learns that the call ended from the connection (`onCallEnded`, set at registration).
    return worker.connection.execute(sent, this.observability.for(call), call.timeoutMs ?? this.timeoutMs, this);
  }

  /** Why a call got no worker: none with room within `waitForWorkerMs` (-32005), or it was cancelled while waiting. */
  private noWorker(call: ComponentCall, reason: NoWorkerReason): ComponentError {
    const pool = this.pool.name;
    const data = { plugin: this.name, pool, component: call.component };
    const context = callContext(this.name, call);
    if (reason.kind === 'aborted') {
      return new ComponentError({ code: ErrorCodes.RequestCancelled, message: `${componentWhat(call)} was cancelled while waiting for a worker of pool "${pool}"`, data }, context);
    }
    const serving = [...this.pool.workers].filter((worker) => worker.spellingOf(call.component) !== undefined).length;
    const why = serving === 0 ? `no worker of pool "${pool}" serves component "${call.component}"` : `all ${serving} worker(s) of pool "${pool}" serving component "${call.component}" stayed busy`;
    return new ComponentError({ code: ErrorCodes.ResourceUnavailable, message: `${why} (waited ${reason.waitedMs} ms)`, data: { ...data, waitedMs: reason.waitedMs } }, context);
  }
}
