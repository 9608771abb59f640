import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  ErrorCodes,
  RpcError,
  type Flow,
  type FlowResult,
  type RunStatus,
  type RunsGetParamsType,
  type RunsListParamsType,
  type RunsSubmitParamsType,
  type Status,
} from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { CompiledFlow } from '../flow/compile.js';
import { applyOverrides } from '../flow/overrides.js';
import { executeItem, type StepInvoker } from '../executor/item-executor.js';
import type { ExecutionScope } from '../plugins/plugin.js';
import { silentLogger, type Logger } from '../log.js';
import { RunState } from './run-state.js';
import { FlowCache, compileOrInvalid } from './flow-cache.js';
import { contextFrom, endWithResult, startItemSpan, startRunSpan } from './tracing.js';
import type { Observability } from '../../protocol/index.js';
import type { Span } from '@opentelemetry/api';

/** Options of a RunManager. */
export interface RunManagerOptions {
  blobs: BlobStore;
  /** Calls a component for a step (routing to plugins happens behind it). */
  invoke: StepInvoker;
  logger?: Logger;
  /** Retries of a step call after a transport failure (SPEC §5.6). Default 3. */
  transportRetries?: number;
  /** Clock in ms since the epoch; injectable for tests. Default Date.now. */
  now?: () => number;
}

/** Who submits: a component executing an item (its run becomes the parent), or nobody. */
export interface SubmitContext {
  parent?: ExecutionScope;
  /** Released waits: a waiting submit returns early when this aborts. */
  signal?: AbortSignal;
}

interface ActiveRun {
  state: RunState;
  /** The run's span when tracing records, else undefined. */
  span?: Span;
  abort: AbortController;
  children: Set<string>;
  /** Creation sequence number, for list ordering and cursors. */
  seq: number;
}

const CANCELLED: FlowResult = { outcome: 'failed', error: { code: ErrorCodes.RequestCancelled, message: 'item cancelled' } };

/**
 * Runs flows over many inputs (SPEC §5): submit, get (with event-driven long poll), cancel,
 * list. Each run is scheduled by a pool of `maxConcurrency` workers pulling the next pending
 * item, so a run of a million items costs no more than its workers.
 */
export class RunManager {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly order: ActiveRun[] = [];
  private readonly flows: FlowCache;
  private readonly logger: Logger;
  private readonly transportRetries: number;
  private readonly now: () => number;

  constructor(private readonly options: RunManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.transportRetries = options.transportRetries ?? 3;
    this.now = options.now ?? Date.now;
    this.flows = new FlowCache(options.blobs);
  }

  /** Submits a run (SPEC §5.1); with `wait`, returns when it is terminal or `timeoutMs` passed. */
  async submit(params: RunsSubmitParamsType, context: SubmitContext = {}): Promise<RunStatus> {
    const { flowId, compiled } = await this.resolveFlow(params);
    const run = this.start(compiled, flowId, params.inputs, {
      maxConcurrency: params.maxConcurrency,
      variables: params.variables,
      flowLabel: params.flowLabel,
      parent: context.parent,
      observability: params.observability,
    });
    if (!params.wait) return run.state.snapshot();
    await this.waitTerminal(run.state, params.timeoutMs, context.signal);
    return run.state.snapshot({ includeResults: true });
  }

  /** Starts a run of an already compiled flow; the in-process entry point (CLI, builtins). */
  start(
    compiled: CompiledFlow,
    flowId: string,
    inputs: readonly unknown[],
    options: {
      maxConcurrency?: number;
      variables?: Record<string, unknown>;
      flowLabel?: string;
      parent?: ExecutionScope;
      /** Parent trace context of the run's span. */
      observability?: Observability;
    } = {},
  ): { runId: string; state: RunState } {
    const parentRunId = options.parent?.runId;
    const state = new RunState({
      runId: randomUUID(),
      flowId,
      flowName: compiled.flow.name,
      flowLabel: options.flowLabel,
      parentRunId,
      createdAt: this.now(),
      total: inputs.length,
    });
    const span = startRunSpan(contextFrom(options.observability), {
      runId: state.runId, flowId, flowName: compiled.flow.name, items: inputs.length, parentRunId,
    });
    const abort = new AbortController();
    // One signal per run, shared by every in-flight call of its items: many listeners are expected.
    setMaxListeners(0, abort.signal);
    const run: ActiveRun = { state, span, abort, children: new Set(), seq: this.order.length };
    if (span) state.onTerminal(() => endWithResult(span, undefined, state.status));
    this.runs.set(state.runId, run);
    this.order.push(run);
    if (parentRunId !== undefined) {
      const parent = this.runs.get(parentRunId);
      if (parent) {
        parent.children.add(state.runId);
        // A child submitted after its parent was cancelled is cancelled at once.
        if (parent.state.isCancelRequested) queueMicrotask(() => this.cancel(state.runId));
      }
    }
    this.logger.debug({ runId: state.runId, flowId, items: inputs.length, parentRunId }, 'run submitted');
    void this.schedule(run, compiled, inputs, options.maxConcurrency ?? inputs.length, options.variables ?? {});
    return { runId: state.runId, state };
  }

  /**
   * Runs a flow (inline or by blob id) over `inputs` and waits for it: the in-process path of
   * `/builtin/eval` and `/builtin/map`, whose runs are children of the calling item.
   */
  async runAndWait(
    flow: { flow: unknown } | { flowId: string },
    inputs: readonly unknown[],
    options: { parent?: ExecutionScope; maxConcurrency?: number; signal?: AbortSignal } = {},
  ): Promise<{ runId: string; results: FlowResult[] }> {
    const { flowId, compiled } = 'flowId' in flow ? await this.flows.load(flow.flowId) : await this.flows.putInline(flow.flow);
    const { runId, state } = this.start(compiled, flowId, inputs, { maxConcurrency: options.maxConcurrency, parent: options.parent });
    const onAbort = () => this.cancel(runId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.waitTerminal(state);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const { results } = state.resultPage({});
    return { runId, results: results.map((r) => r.result ?? CANCELLED) };
  }

  /** Returns a run's status (SPEC §5.2), long-polling with `wait`. Unknown id → -32011. */
  async get(params: RunsGetParamsType, signal?: AbortSignal): Promise<RunStatus> {
    const run = this.require(params.runId);
    if (params.wait) await this.waitTerminal(run.state, params.timeoutMs, signal);
    return run.state.snapshot({
      includeResults: params.includeResults,
      resultOrder: params.resultOrder,
      offset: params.offset,
      limit: params.limit,
    });
  }

  /** Cancels a run and its children (SPEC §5.5). A terminal run is returned unchanged. */
  cancel(runId: string): RunStatus {
    const run = this.require(runId);
    this.cancelRun(run);
    return run.state.snapshot();
  }

  /** Lists runs newest first with filters and cursor paging (SPEC §5.4). */
  list(params: RunsListParamsType): { runs: RunStatus[]; nextCursor?: string } {
    const statuses = params.status ? new Set<Status>(params.status) : undefined;
    const after = params.createdAfter ? Date.parse(params.createdAfter) : undefined;
    const before = params.createdBefore ? Date.parse(params.createdBefore) : undefined;
    let start = this.order.length - 1;
    if (params.cursor !== undefined) {
      const seq = Number.parseInt(params.cursor, 36);
      if (!Number.isInteger(seq) || seq < 0) throw RpcError.invalidParams(`Invalid params for runs/list: field "cursor": not a cursor returned by runs/list`, { cursor: params.cursor });
      start = Math.min(start, seq - 1);
    }
    const runs: RunStatus[] = [];
    let i = start;
    for (; i >= 0 && runs.length < params.limit; i--) {
      const { state } = this.order[i];
      const id = state.identity;
      if (statuses && !statuses.has(state.status)) continue;
      if (params.flowId !== undefined && id.flowId !== normalizeBlobId(params.flowId)) continue;
      if (params.parentRunId !== undefined && id.parentRunId !== params.parentRunId) continue;
      if (after !== undefined && id.createdAt <= after) continue;
      if (before !== undefined && id.createdAt >= before) continue;
      runs.push(state.snapshot());
    }
    return i >= 0 && runs.length === params.limit ? { runs, nextCursor: (i + 1).toString(36) } : { runs };
  }

  /** Resolves when the run is terminal, `timeoutMs` passed, or `signal` aborted — whichever first. */
  waitTerminal(state: RunState, timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    if (state.isTerminal || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const unsubscribe = state.onTerminal(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The live state of a run, or undefined. */
  state(runId: string): RunState | undefined {
    return this.runs.get(runId)?.state;
  }

  /** Cancels every unfinished run; used at shutdown. */
  cancelAll(): void {
    for (const run of this.runs.values()) this.cancelRun(run);
  }

  private cancelRun(run: ActiveRun): void {
    if (run.state.isTerminal) return;
    run.state.cancelPending(this.now());
    run.abort.abort();
    for (const childId of run.children) {
      const child = this.runs.get(childId);
      if (child) this.cancelRun(child);
    }
  }

  private require(runId: string): ActiveRun {
    const run = this.runs.get(runId);
    if (!run) throw RpcError.notFound(`Run not found: ${runId}`, { runId });
    return run;
  }

  private async resolveFlow(params: RunsSubmitParamsType): Promise<{ flowId: string; compiled: CompiledFlow }> {
    let flowId: string;
    let compiled: CompiledFlow;
    if (params.flow !== undefined) {
      ({ flowId, compiled } = await this.flows.putInline(params.flow));
    } else {
      ({ flowId, compiled } = await this.flows.load(params.flowId!));
    }
    if (params.overrides && Object.keys(params.overrides).length > 0) {
      const patched: Flow = applyOverrides(compiled.flow, params.overrides);
      compiled = compileOrInvalid(patched, 'overrides');
    }
    return { flowId, compiled };
  }

  private async schedule(
    run: ActiveRun,
    compiled: CompiledFlow,
    inputs: readonly unknown[],
    maxConcurrency: number,
    variables: Record<string, unknown>,
  ): Promise<void> {
    const { state } = run;
    const total = inputs.length;
    const signal = run.abort.signal;
    const { runId, flowId } = state.identity;
    const invoke = this.options.invoke;
    const transportRetries = this.transportRetries;
    let next = 0;

    const worker = async (): Promise<void> => {
      while (next < total && !signal.aborted) {
        const index = next++;
        if (!state.startItem(index)) continue;
        let result: FlowResult;
        let attempts = 1;
        const item = run.span ? startItemSpan(run.span, runId, index) : undefined;
        try {
          const outcome = await executeItem(compiled, inputs[index], {
            runId,
            itemIndex: index,
            flowId,
            variables,
            invoke,
            signal,
            transportRetries,
            traceContext: item?.context,
          });
          result = outcome.result;
          attempts = outcome.attempts;
        } catch (err) {
          // executeItem turns flow-level failures into results; this is a bug, kept from killing the run.
          this.logger.error({ err, runId, itemIndex: index }, 'item execution threw');
          result = { outcome: 'failed', error: { code: ErrorCodes.InternalError, message: String((err as Error)?.message ?? err) } };
        }
        const cancelled = signal.aborted && result.outcome === 'failed' && result.error.code === ErrorCodes.RequestCancelled;
        if (item) endWithResult(item.span, result, cancelled ? 'cancelled' : result.outcome);
        if (cancelled) state.finishItem(index, 'cancelled', undefined, attempts, this.now());
        else state.finishItem(index, result.outcome === 'failed' ? 'failed' : 'success', result, attempts, this.now());
      }
    };

    const workers = Math.min(Math.max(1, maxConcurrency), total);
    const pool: Promise<void>[] = [];
    for (let k = 0; k < workers; k++) pool.push(worker());
    await Promise.all(pool);
    if (state.isTerminal) this.logger.debug({ runId, status: state.status, items: state.counts }, 'run finished');
  }
}
