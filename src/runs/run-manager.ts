import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  MAX_TIMEOUT_MS,
  RpcError,
  type CallbackTarget,
  type FlowResult,
  type Metadata,
  type Observability,
  type Overrides,
  type RunStatus,
  type RunsGetParamsType,
  type RunsCompareParamsType,
  type RunsCompareResultType,
  type RunDefaults,
  type RunsDeleteResultType,
  type RunsGcResultType,
  type RunsItemsParamsType,
  type RunsItemsResultType,
  type RunsListParamsType,
  type FlowsListParamsType,
  type FlowsListResultType,
  type RunsMetricsResultType,
  type RunsRerunParamsType,
  type RunsSubmitParamsType,
} from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { CompiledFlow } from '../flow/compile.js';
import { applyOverrides } from '../flow/overrides.js';
import type { StepInvoker, TransportRetries } from '../executor/item-executor.js';
import type { ExecutionScope } from '../calls/plugin.js';
import { BlobNamespaces } from './blob-namespaces.js';
import { silentLogger, type Logger } from '../log.js';
import { MemoryStateStore } from '../statestore/memory-state-store.js';
import type { RunRecord, RunSummary, StateStore } from '../statestore/state-store.js';
import { asStoreError } from '../statestore/store-unavailable.js';
import { CANCELLED } from '../executor/failures.js';
import { resolveRunLimits, type RunLimits } from './run-limits.js';
import { RunState } from './run-state.js';
import { FlowCache, compileOrInvalid } from './flow-cache.js';
import { StoreWriter } from './store-writer.js';
import { checkRunDataDepth } from './data-depth.js';
import { refuseUnroutedSteps } from './unrouted-steps.js';
import { storedRunStatus } from './run-status.js';
import { RunRegistry, type ActiveRun } from './run-registry.js';
import { RunRecovery, restoreState } from './run-recovery.js';
import { IndexRange, RunScheduler, workersFor } from './run-scheduler.js';
import { ChunkRunner } from './chunk-runner.js';
import type { SharedWork } from './shared-work.js';
import { ItemTally } from './item-tally.js';
import { CallCounts } from '../calls/call-counts.js';
import { CallbackDispatcher, isAllowedHost, type CallbackOptions } from './callback-dispatcher.js';
import { withCallbackStates } from './callback-states.js';
import { isSeqCursor } from '../statestore/seq-cursor.js';
import { selectRerunItems } from './rerun-selection.js';
import { compareRuns } from './run-comparison.js';
import { DEFAULT_NAMESPACE, namespaceOf, requireVisible, runNotFound, scopedIdempotencyKey, type RunAccess } from './run-access.js';

/** Namespaces of parent runs remembered at most (see `RunManager.namespaceOfRun`). */
const KNOWN_NAMESPACES = 10_000;
import { RetentionSweep, type RetentionOptions } from './retention-sweep.js';
import { itemDetailOf } from './item-details.js';
import { runTimingMetrics } from './run-timing-metrics.js';
import { RunEventFeed, type SharedEvents } from './run-event-feed.js';

/** How long an idempotency key names its run (docs/config.md, `idempotencyTtl`): 24 hours. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Options of a RunManager. */
export interface RunManagerOptions {
  blobs: BlobStore;
  /** Calls a component for a step (routing to plugins happens behind it). */
  invoke: StepInvoker;
  /** Where runs are kept. Default: a MemoryStateStore (nothing survives the process). */
  store?: StateStore;
  logger?: Logger;
  /** Retries of a step call after a transport failure (docs/component-servers.md), fixed or per component. Default 3. */
  transportRetries?: TransportRetries;
  /** The config's `variables:`: values of `$variable` when the run, the flow and the expression give none (docs/precedence.md). */
  variables?: Record<string, unknown>;
  /** Clock in ms since the epoch; injectable for tests. Default Date.now. */
  now?: () => number;
  /** Bounds on child-run depth and live runs (defaults in `run-limits.ts`). */
  limits?: RunLimits;
  /**
   * The work of a cluster (docs/cluster.md): when given, runs are stored for any node to claim in
   * chunks, this process executes the chunks it claims, and waits and cancels go through the
   * database. Default: none (this process executes the runs it stores).
   */
  shared?: SharedWork;
  /** On a cluster, whether this node may execute a run of this flow now (`ChunkRunner`'s `canExecute`). Default: always. */
  canExecute?: (compiled: CompiledFlow, createdAt: number) => boolean;
  /** How completion callbacks are delivered (docs/callbacks.md); `holder` names this process in the outbox (default a random id). */
  callbacks?: CallbackOptions & { holder?: string };
  /** How long finished runs and unused blobs are kept (docs/retention.md). Default: forever. */
  retention?: RetentionOptions;
  /** A submit whose idempotency key names a run created this long ago or less gets that run. Default 24 h. */
  idempotencyTtlMs?: number;
  /** How long run events are kept for watchers that resume (docs/events.md). Default 10 minutes. */
  eventRetentionMs?: number;
}

/** Who submits: a component executing an item (its run becomes the parent), or nobody. */
export interface SubmitContext {
  parent?: ExecutionScope;
  /** Released waits: a waiting submit returns early when this aborts. */
  signal?: AbortSignal;
  /** When given, a flow with a step no route takes is refused before the run starts (`-32602`). */
  isRoutable?: (component: string) => boolean;
  /** The namespace of the new run; default: its parent's, else `default` (docs/security.md). */
  namespace?: string;
  /** The name of the token submitting it. */
  submittedBy?: string;
}

/** How a run is started in process (CLI, builtins, recovery). */
export interface StartOptions {
  maxConcurrency?: number;
  variables?: Record<string, unknown>;
  overrides?: Overrides;
  flowLabel?: string;
  parent?: ExecutionScope;
  /** Parent trace context of the run's span. */
  observability?: Observability;
  /** POSTed when the run turns terminal (docs/callbacks.md). */
  callback?: CallbackTarget;
  /** The run this one reruns, and each item's index in it. */
  rerunOf?: string;
  sourceIndices?: readonly number[];
  /** The run's namespace; default: its parent's, else `default`. */
  namespace?: string;
  /** The name of the token that submitted it. */
  submittedBy?: string;
  /** Timeout and transport retries of its component calls, under each step's own (docs/precedence.md). */
  defaults?: RunDefaults;
  idempotencyKey?: string;
  metadata?: Metadata;
  recordSteps?: boolean;
}

/** A started run, or the run an idempotency key already named (nothing was created). */
export interface StartedRun {
  runId: string;
  state: RunState;
  deduplicated?: boolean;
}

/**
 * Runs flows over many inputs (docs/protocol.md): submit, get (with event-driven long poll), cancel,
 * list, and resume after a restart. A façade over the parts that do the work: the registry of
 * live runs (`run-registry.ts`), the scheduler of their items (`run-scheduler.ts`), recovery
 * (`run-recovery.ts`) and the batched journal to the state store (`store-writer.ts`).
 */
export class RunManager {
  private readonly flows: FlowCache;
  private readonly store: StateStore;
  private readonly writer: StoreWriter;
  private readonly registry: RunRegistry;
  private readonly scheduler: RunScheduler;
  private readonly recovery: RunRecovery;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly shared: SharedWork | undefined;
  private readonly chunks: ChunkRunner | undefined;
  private readonly idempotencyTtlMs: number;
  /** Component calls of this manager's items by component and outcome (`GET /metrics`). */
  readonly callCounts = new CallCounts();
  /** Items this manager settled, by status, and the recent rate (`GET /metrics`). */
  readonly itemTally: ItemTally;
  private readonly callbacks: CallbackDispatcher;
  /** The run events of this process's runs (docs/events.md), stored and handed to watchers. */
  readonly events: RunEventFeed;
  private readonly allowHosts: readonly string[] | undefined;
  /** Namespaces of runs not in memory that child runs were submitted from (see `namespaceOfRun`). */
  private readonly namespaces = new Map<string, string>();
  /** Reads of stored runs under way, by run (see `find`). */
  private readonly loads = new Map<string, Promise<{ state: RunState }>>();
  /** Summary reads under way (`storedSummary`), by run id. */
  private readonly summaries = new Map<string, Promise<RunSummary | undefined>>();
  private readonly retention: RetentionSweep;
  /** The namespaces each blob was put or used in (docs/security.md); the retention sweep forgets those of the blobs it deletes. */
  readonly blobNamespaces: BlobNamespaces;

  constructor(options: RunManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.itemTally = new ItemTally(this.now());
    this.flows = new FlowCache(options.blobs);
    this.store = options.store ?? new MemoryStateStore();
    this.writer = new StoreWriter(this.store, this.logger, {
      // An item whose result the store refused is failed in memory too, so get and list agree.
      onItemUnwritable: (runId, itemIndex, result) => {
        const state = this.state(runId);
        state?.replaceWithFailure(itemIndex, result);
        return state?.isTerminal ? state.status : undefined;
      },
    });
    const { store, writer, logger, now } = this;
    this.registry = new RunRegistry({ store, writer, now, limits: resolveRunLimits(options.limits), tally: this.itemTally });
    this.scheduler = new RunScheduler({
      invoke: options.invoke,
      transportRetries: options.transportRetries ?? 3,
      configVariables: options.variables,
      now,
      logger,
      // A journal far behind (the store unreachable) holds new items back until it catches up.
      backpressure: () => writer.whenBelowLimit(),
      callCounts: this.callCounts,
    });
    this.recovery = new RunRecovery({
      store,
      registry: this.registry,
      logger,
      now,
      compile: async (flowId, overrides) => (await this.resolveFlow(undefined, flowId, overrides)).compiled,
      execute: (run, compiled, inputs, record) => this.execute(run, compiled, inputs, record),
    });
    this.shared = options.shared;
    if (this.shared) {
      this.chunks = new ChunkRunner({
        shared: this.shared,
        scheduler: this.scheduler,
        writer,
        logger,
        now,
        tally: this.itemTally,
        compile: async (flowId, overrides) => (await this.resolveFlow(undefined, flowId, overrides)).compiled,
        canExecute: options.canExecute,
        events: { followChunk: (record, state) => this.events.followChunk(record, state), runsFinished: (runIds) => this.events.runsFinished(runIds) },
      });
    }
    this.allowHosts = options.callbacks?.allowHosts;
    this.events = new RunEventFeed({ log: this.store.events, logger, now, retentionMs: options.eventRetentionMs, shared: this.sharedEvents() });
    this.callbacks = new CallbackDispatcher({
      store,
      holder: options.callbacks?.holder ?? randomUUID(),
      statusOf: async (runId) => (await this.lookup(runId)).state.snapshot(),
      logger,
      now,
      options: options.callbacks,
    });
    this.blobNamespaces = new BlobNamespaces(store);
    this.retention = new RetentionSweep({
      store,
      blobs: options.blobs,
      forget: (runIds) => this.registry.forget(runIds),
      blobsDeleted: (blobIds) => this.blobNamespaces.deleted(blobIds),
      logger,
      now,
      options: options.retention,
    });
  }

  /** Starts the periodic retention sweep, when the options delete anything (`flowrun serve`, docs/retention.md). */
  startRetention(): void {
    this.retention.start();
  }

  /** On a cluster: starts delivering every node's run events and claiming chunks of the shared runs (docs/cluster.md). */
  async startSharedWork(): Promise<void> {
    await this.events.startTail();
    await this.chunks?.start();
  }

  /** What the event feed needs of a cluster, when this manager shares its work and the work can give it. */
  private sharedEvents(): SharedEvents | undefined {
    const shared = this.shared;
    if (shared?.onEventsAppended === undefined || shared.runProgress === undefined) return undefined;
    return {
      onEventsAppended: (listener) => shared.onEventsAppended!(listener),
      runProgress: (runId) => shared.runProgress!(runId),
      finishedRun: async (runId) => {
        const summary = await this.storedSummary(runId);
        if (summary) return { run: storedRunStatus(summary), namespace: namespaceOf(summary.record) };
        const { state } = await this.lookup(runId);
        return { run: state.snapshot(), namespace: namespaceOf(state.identity) };
      },
    };
  }

  /** Starts delivering completion callbacks from the state store's outbox, those of earlier processes too (docs/callbacks.md). */
  startCallbacks(): void {
    this.callbacks.start();
  }

  /** Submits a run (docs/protocol.md, `runs/submit`); with `wait`, returns when it is terminal or `timeoutMs` passed. */
  async submit(params: RunsSubmitParamsType, context: SubmitContext = {}): Promise<RunStatus & { deduplicated?: boolean }> {
    const namespace = context.namespace ?? (context.parent ? await this.namespaceOfRun(context.parent.runId) : DEFAULT_NAMESPACE);
    const idempotencyKey = params.idempotencyKey === undefined ? undefined : scopedIdempotencyKey(params.idempotencyKey, namespace);
    if (idempotencyKey !== undefined) {
      const holder = await this.keyHolder(idempotencyKey);
      if (holder !== undefined) return this.deduplicated(holder, params, context);
    }
    const { flowId, compiled } = await this.resolveFlow(params.flow, params.flowId, params.overrides);
    if (context.isRoutable) refuseUnroutedSteps(compiled.flow, context.isRoutable);
    if (params.callback) this.refuseCallbackHost(params.callback.url);
    const run = await this.start(compiled, flowId, params.inputs, {
      maxConcurrency: params.maxConcurrency,
      variables: params.variables,
      overrides: params.overrides,
      flowLabel: params.flowLabel,
      parent: context.parent,
      observability: params.observability,
      callback: params.callback,
      namespace,
      submittedBy: context.submittedBy,
      defaults: params.defaults,
      idempotencyKey,
      metadata: params.metadata,
      recordSteps: params.recordSteps,
    });
    // Another submit of the key stored its run first (the store's unique index decided).
    if (run.deduplicated) return this.deduplicated(run.runId, params, context);
    if (!params.wait) return this.withCallback(run.state.snapshot());
    if (this.shared) {
      await this.shared.waitFinished(run.runId, params.timeoutMs, context.signal);
      return this.withCallback((await this.lookup(run.runId)).state.snapshot({ includeResults: true }));
    }
    await this.waitTerminal(run.state, params.timeoutMs, context.signal);
    return this.withCallback(run.state.snapshot({ includeResults: true }));
  }

  /**
   * Runs the chosen items of a terminal run again over their original inputs (docs/protocol.md,
   * `runs/rerun`): a new run of the same flow, `rerunOf` the source, each item with its `sourceIndex`.
   * The source's overrides, variables, concurrency and label apply unless given. No item chosen
   * gives a run of no items, which succeeds at once. Unknown run → -32011; one not terminal → -32013.
   */
  async rerun(params: RunsRerunParamsType, context: SubmitContext = {}, access?: RunAccess): Promise<RunStatus> {
    const { state } = await this.lookup(params.runId, access);
    access?.mayChange?.(state.identity);
    if (!state.isTerminal) {
      throw new RpcError(ErrorCodes.Conflict, `Run ${params.runId} is ${state.status}: only a finished run can be rerun`, { runId: params.runId, status: state.status });
    }
    // The store holds what memory holds once the journal is written.
    await this.writer.settled();
    const source = await this.store.loadRun(params.runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot load run ${params.runId}`);
    });
    if (!source) throw runNotFound(params.runId);
    const indices = selectRerunItems(source.items, params.items);
    const { record } = source;
    const overrides = params.overrides ?? record.overrides;
    const { flowId, compiled } = await this.resolveFlow(undefined, record.flowId, overrides);
    if (context.isRoutable) refuseUnroutedSteps(compiled.flow, context.isRoutable);
    const inputs = await this.store.loadInputs(record.runId, indices);
    const run = await this.start(compiled, flowId, inputs, {
      maxConcurrency: params.maxConcurrency ?? record.maxConcurrency,
      variables: params.variables ?? record.variables,
      overrides,
      flowLabel: params.flowLabel ?? record.flowLabel,
      metadata: params.metadata ?? record.metadata,
      rerunOf: record.runId,
      sourceIndices: indices,
      namespace: namespaceOf(record),
      submittedBy: context.submittedBy,
      defaults: record.defaults,
    });
    return run.state.snapshot();
  }

  /** Compares 2–4 runs item by item (docs/protocol.md, `runs/compare`). Unknown run → -32011. */
  async compare(params: RunsCompareParamsType, access?: RunAccess): Promise<RunsCompareResultType> {
    const twice = params.runIds.findIndex((id, k) => params.runIds.indexOf(id) !== k);
    if (twice >= 0) throw RpcError.invalidParams(`Invalid params for runs/compare: field "runIds[${twice}]": run ${params.runIds[twice]} is named twice`);
    const states = [];
    for (const runId of params.runIds) states.push((await this.lookup(runId, access)).state);
    const statuses = await withCallbackStates(this.store, states.map((state) => state.snapshot()));
    return compareRuns(states, statuses, params);
  }

  /** The run holding idempotency `key` within the TTL, if any. */
  private async keyHolder(key: string): Promise<string | undefined> {
    return this.store.runWithIdempotencyKey(key, this.now() - this.idempotencyTtlMs).catch((err: unknown) => {
      throw asStoreError(err, `cannot look up idempotency key ${JSON.stringify(key)}`);
    });
  }

  /** The answer to a submit whose idempotency key names run `runId`: that run, waited on as the submit asked. */
  private async deduplicated(runId: string, params: RunsSubmitParamsType, context: SubmitContext): Promise<RunStatus & { deduplicated: true }> {
    this.logger.debug({ runId, idempotencyKey: params.idempotencyKey }, 'submit deduplicated by its idempotency key');
    const status = await this.get(
      { runId, wait: params.wait, timeoutMs: params.timeoutMs, includeResults: params.wait, resultOrder: 'byIndex', offset: 0 },
      context.signal,
    );
    return { ...status, deduplicated: true };
  }

  /**
   * Deletes a terminal run with its items, results, callback and child runs (docs/protocol.md,
   * `runs/delete`). Unknown run → -32011; the run or a child of it not terminal → -32013.
   */
  async delete(runId: string, access?: RunAccess): Promise<RunsDeleteResultType> {
    const { state } = await this.lookup(runId, access);
    if (!state.isTerminal) throw notDeletable(runId, runId, state.status);
    // Its last transitions and finish are in the store before the store decides.
    await this.writer.settled();
    const outcome = await this.store.deleteRun(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot delete run ${runId}`);
    });
    if (outcome.outcome === 'notFound') throw runNotFound(runId);
    if (outcome.outcome === 'notTerminal') throw notDeletable(runId, outcome.runId, outcome.status);
    this.registry.forget(outcome.runIds);
    this.logger.info({ runId, runs: outcome.runIds.length, items: outcome.items }, 'run deleted');
    return { runIds: outcome.runIds, items: outcome.items };
  }

  /** The retention sweep, now (`runs/gc`); with `dryRun`, only what it would delete. */
  async gc(dryRun: boolean): Promise<RunsGcResultType> {
    if (!dryRun && !this.writer.unreachable) await this.writer.settled();
    return this.retention.sweep(dryRun);
  }

  /**
   * Starts a run of a compiled flow: the run is stored (with its inputs) before this resolves,
   * so an acknowledged run is never lost. With an idempotency key another run holds, nothing
   * starts: that run is returned, `deduplicated`.
   */
  async start(compiled: CompiledFlow, flowId: string, inputs: readonly unknown[], options: StartOptions = {}): Promise<StartedRun> {
    await checkRunDataDepth(inputs, options.variables, options.overrides);
    const namespace = options.namespace ?? (options.parent ? await this.namespaceOfRun(options.parent.runId) : DEFAULT_NAMESPACE);
    const depth = await this.registry.admit(options.parent?.runId);
    const record: RunRecord = {
      runId: randomUUID(),
      flowId,
      ...(compiled.flow.name !== undefined && { flowName: compiled.flow.name }),
      ...(options.flowLabel !== undefined && { flowLabel: options.flowLabel }),
      ...(options.parent && { parentRunId: options.parent.runId, parentItemIndex: options.parent.itemIndex }),
      createdAt: this.now(),
      total: inputs.length,
      maxConcurrency: Math.max(1, options.maxConcurrency ?? inputs.length),
      variables: options.variables ?? {},
      ...(options.overrides && Object.keys(options.overrides).length > 0 && { overrides: options.overrides }),
      ...(options.rerunOf !== undefined && { rerunOf: options.rerunOf, sourceIndices: options.sourceIndices }),
      ...(options.callback && { callback: options.callback }),
      namespace,
      ...(options.submittedBy !== undefined && { submittedBy: options.submittedBy }),
      ...(options.defaults && Object.keys(options.defaults).length > 0 && { defaults: options.defaults }),
      ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
      ...(options.metadata !== undefined && Object.keys(options.metadata).length > 0 && { metadata: options.metadata }),
      ...(options.recordSteps && { recordSteps: true }),
    };
    let holder: string | undefined;
    try {
      holder = await this.store.createRun(record, inputs);
    } catch (err) {
      this.registry.release(); // the slot `admit` took
      throw asStoreError(err, `cannot store run ${record.runId}`);
    }
    if (holder !== undefined) {
      this.registry.release();
      return { runId: holder, state: (await this.lookup(holder)).state, deduplicated: true };
    }
    const state = new RunState({ ...record });
    this.events.created(state);
    if (this.shared) {
      // Any node claims its chunks; this one answers for it from the database. A run of no items is finished already.
      if (state.isTerminal) this.events.follow(state);
      this.registry.release();
      this.logger.debug({ runId: record.runId, flowId, items: inputs.length, parentRunId: record.parentRunId, depth }, 'run submitted to the cluster');
      return { runId: record.runId, state };
    }
    const run = this.registry.activate(state, options.observability, depth, true);
    // A run of no items is terminal from birth, before its journal was attached: record that.
    if (state.isTerminal) state.journal?.runFinished(state.status, record.createdAt);
    // Its callback is due once the finish is written: deliver it then rather than at the next poll.
    if (record.callback) state.onTerminal(() => this.writer.after(async () => this.callbacks.wake()));
    this.logger.debug({ runId: record.runId, flowId, items: inputs.length, parentRunId: record.parentRunId, depth }, 'run submitted');
    this.execute(run, compiled, inputs, record);
    return { runId: record.runId, state };
  }

  /**
   * Resumes every unfinished run of the state store after a restart (`run-recovery.ts`): one run
   * per turn of the event loop, so a server started first keeps answering; a run asked for
   * (`get`, `cancel`) before its turn resumes at once. Resolves, with how many runs there were,
   * once all have resumed.
   */
  recover(): Promise<number> {
    // On a cluster, unfinished runs are resumed by claiming their chunks.
    if (this.shared) return Promise.resolve(0);
    return this.recovery.recover();
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
    const started = await this.start(compiled, flowId, inputs, { maxConcurrency: options.maxConcurrency, parent: options.parent });
    const { runId } = started;
    const onAbort = () => void this.cancel(runId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let state = started.state;
    try {
      if (this.shared) {
        await this.shared.waitFinished(runId);
        state = (await this.lookup(runId)).state;
      } else {
        await this.waitTerminal(state);
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const { results } = state.resultPage({});
    return { runId, results: results.map((r) => r.result ?? CANCELLED) };
  }

  /**
   * Returns a run's status (docs/protocol.md, `runs/get`), long-polling with `wait`. Unknown id → -32011. Only runs
   * this process executes are waited on; a run read from the store is answered as stored.
   */
  async get(params: RunsGetParamsType, signal?: AbortSignal, access?: RunAccess): Promise<RunStatus> {
    if (this.shared && !params.includeResults) {
      // A wait counts the run's items once, when it ends: as it starts, the run's row says enough.
      if (params.wait && (await this.storedUnfinished(params.runId, access))) await this.shared.waitFinished(params.runId, params.timeoutMs, signal);
      const stored = await this.summaryStatus(params.runId, access);
      if (stored) return this.withCallback(stored);
    }
    let { state, live } = await this.lookup(params.runId, access);
    if (params.wait && live) await this.waitTerminal(state, params.timeoutMs, signal);
    else if (params.wait && this.shared && !state.isTerminal) {
      await this.shared.waitFinished(params.runId, params.timeoutMs, signal);
      ({ state } = await this.lookup(params.runId));
    }
    return this.withCallback(
      state.snapshot({
        includeResults: params.includeResults,
        resultOrder: params.resultOrder,
        offset: params.offset,
        limit: params.limit,
      }),
    );
  }

  /** Cancels a run and its children (docs/protocol.md, `runs/cancel`). A terminal run is returned unchanged. */
  async cancel(runId: string, access?: RunAccess): Promise<RunStatus> {
    const { state, live } = await this.lookup(runId, access);
    access?.mayChange?.(state.identity);
    if (live) await this.registry.cancel(live);
    else if (this.shared && !state.isTerminal) {
      await this.shared.cancel(runId).catch((err: unknown) => {
        throw asStoreError(err, `cannot cancel run ${runId}`);
      });
      return this.withCallback((await this.lookup(runId)).state.snapshot());
    }
    return this.withCallback(state.snapshot());
  }

  /** Lists runs newest (or oldest) first with filters and cursor paging (docs/protocol.md, `runs/list`). */
  async list(params: RunsListParamsType, access?: RunAccess): Promise<{ runs: RunStatus[]; nextCursor?: string }> {
    const flowId = params.flowId === undefined ? undefined : (normalizeBlobId(params.flowId) ?? params.flowId);
    requireListCursor('runs/list', params.cursor);
    // Filters run in the store: bring it up to date with memory first (list is not a hot path),
    // unless the store is unreachable: then the query fails at once instead of waiting for it.
    if (!this.writer.unreachable) await this.writer.settled();
    const page = await this.store.listRuns({
      namespace: access?.namespace,
      statuses: params.status,
      flowId,
      flowName: params.flowName,
      flowLabel: params.flowLabel,
      metadata: params.metadata,
      parentRunId: params.parentRunId,
      rootsOnly: params.rootsOnly,
      rerunOf: params.rerunOf,
      order: params.order,
      createdAfter: params.createdAfter === undefined ? undefined : Date.parse(params.createdAfter),
      createdBefore: params.createdBefore === undefined ? undefined : Date.parse(params.createdBefore),
      cursor: params.cursor,
      limit: params.limit,
    }).catch((err: unknown) => {
      throw asStoreError(err, 'cannot list runs');
    });
    // Live runs answer from memory (their counters are ahead of the journal).
    const runs = page.runs.map((s) => this.registry.live(s.record.runId)?.state.snapshot() ?? storedRunStatus(s));
    await withCallbackStates(this.store, runs, runs.map((run) => run.runId)).catch((err: unknown) => {
      throw asStoreError(err, 'cannot list runs');
    });
    return page.nextCursor === undefined ? { runs } : { runs, nextCursor: page.nextCursor };
  }

  /** The flows the visible runs ran, most recently used first (docs/protocol.md, `flows/list`). */
  async listFlows(params: FlowsListParamsType, access?: RunAccess): Promise<FlowsListResultType> {
    requireListCursor('flows/list', params.cursor);
    if (!this.writer.unreachable) await this.writer.settled();
    const page = await this.store.listFlows({ namespace: access?.namespace, cursor: params.cursor, limit: params.limit }).catch((err: unknown) => {
      throw asStoreError(err, 'cannot list flows');
    });
    const flows = page.flows.map(({ lastUsedAt, ...flow }) => ({ ...flow, lastUsedAt: new Date(lastUsedAt).toISOString() }));
    return page.nextCursor === undefined ? { flows } : { flows, nextCursor: page.nextCursor };
  }

  /**
   * A page of a run's items with timings, and inputs and step records when asked (docs/protocol.md,
   * `runs/items`). Read from the store once the journal caught up with memory. Unknown id → -32011.
   */
  async items(params: RunsItemsParamsType, access?: RunAccess): Promise<RunsItemsResultType> {
    await this.requireSeen(params.runId, access);
    if (!this.writer.unreachable) await this.writer.settled();
    const page = await this.store
      .listItems(params.runId, {
        statuses: params.status,
        offset: params.offset,
        limit: params.limit,
        order: params.order,
        includeInput: params.includeInput,
        includeSteps: params.includeSteps,
      })
      .catch((err: unknown) => {
        throw asStoreError(err, `cannot read the items of run ${params.runId}`);
      });
    if (!page) throw RpcError.notFound(`Run not found: ${params.runId}`, { runId: params.runId });
    const items = page.items.map(itemDetailOf);
    return page.nextOffset === undefined ? { items } : { items, nextOffset: page.nextOffset };
  }

  /** Throughput, latency and per-component figures of a run (docs/protocol.md, `runs/metrics`). Unknown id → -32011. */
  async metrics(runId: string, access?: RunAccess): Promise<RunsMetricsResultType> {
    await this.requireSeen(runId, access);
    if (!this.writer.unreachable) await this.writer.settled();
    const timings = await this.store.itemTimings(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot read the timings of run ${runId}`);
    });
    if (!timings) throw RpcError.notFound(`Run not found: ${runId}`, { runId });
    return runTimingMetrics(runId, timings);
  }

  /** Resolves when the run is terminal, `timeoutMs` passed, or `signal` aborted — whichever first. */
  waitTerminal(state: RunState, timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    if (state.isTerminal || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        subscription.dispose();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const subscription = state.onTerminal(done);
      // In-process callers skip the wire schema: a longer delay would fire at once.
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.min(timeoutMs, MAX_TIMEOUT_MS));
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A run's state for a watch (docs/events.md): in memory when this process holds it, else as stored. Unknown, or unseen by `access` → -32011. */
  async watchedState(runId: string, access?: RunAccess): Promise<RunState> {
    return (await this.lookup(runId, access)).state;
  }

  /** The in-memory state of a run (executing or recently finished), or undefined. */
  state(runId: string): RunState | undefined {
    return this.registry.state(runId);
  }

  /** How many runs this process is executing (finished ones leave memory). */
  get liveRunCount(): number {
    return this.registry.size;
  }

  /** How many runs of a namespace this process is executing (on a cluster: none, its nodes run chunks). */
  liveRunsIn(namespace: string): number {
    return this.registry.liveIn(namespace);
  }

  /** Cancels every unfinished run (`flowrun run` at exit), and waits until the store has it all. */
  async cancelAll(): Promise<void> {
    await this.retention.stop();
    // The runs of a cluster are its nodes' to finish: this node only hands its chunks back.
    if (this.shared) return this.suspend();
    this.recovery.stop();
    await this.registry.cancelAll();
    await this.writer.drain();
    await this.callbacks.stop();
    await this.stopEvents();
  }

  /**
   * Stops without cancelling: in-flight items are abandoned and nothing more is journaled, so a
   * durable store still holds them as unfinished and the next process resumes them.
   */
  async suspend(): Promise<void> {
    this.recovery.stop();
    await this.retention.stop();
    this.chunks?.stop();
    await this.callbacks.stop();
    this.writer.stop();
    this.registry.abortAll();
    await this.writer.drain();
    // After the last write of this node: its chunks are handed back at once (docs/cluster.md).
    await this.shared?.stop();
    await this.stopEvents();
  }

  /** Stores the events emitted so far, then stops the feed. */
  private async stopEvents(): Promise<void> {
    await this.events.drain();
    this.events.close();
  }

  /** Waits until every transition so far is in the state store. */
  flush(): Promise<void> {
    return this.writer.settled();
  }

  /** The status with its callback's delivery state, when it has a callback. */
  private async withCallback(status: RunStatus): Promise<RunStatus> {
    if (status.callback === undefined) return status;
    const [withState] = await withCallbackStates(this.store, [status]).catch((err: unknown) => {
      throw asStoreError(err, `cannot read the callback of run ${status.runId}`);
    });
    return withState;
  }

  /** A callback URL whose host `callbacks.allowHosts` does not list is refused (`-32602`). */
  private refuseCallbackHost(url: string): void {
    const host = new URL(url).hostname;
    if (isAllowedHost(host, this.allowHosts)) return;
    throw RpcError.invalidParams(`Invalid params for runs/submit: field "callback.url": host ${host} is not in callbacks.allowHosts`, { host });
  }

  /** Executes the items of a live run, all of them in order, `maxConcurrency` at a time. */
  private execute(run: ActiveRun, compiled: CompiledFlow, inputs: readonly unknown[], record: RunRecord): void {
    this.events.follow(run.state);
    void this.scheduler.schedule({
      state: run.state,
      compiled,
      inputs,
      items: new IndexRange(inputs.length),
      workers: workersFor(record.maxConcurrency, inputs.length),
      variables: record.variables,
      defaults: record.defaults,
      signal: run.abort.signal,
      span: run.span,
    });
  }

  /**
   * The namespace of a run (a child run joins its parent's): from memory, else the store. On a
   * cluster the parent may run on this node only as a chunk, so the answer is kept.
   */
  async namespaceOfRun(runId: string): Promise<string> {
    const state = this.registry.state(runId);
    if (state) return namespaceOf(state.identity);
    const known = this.namespaces.get(runId);
    if (known !== undefined) return known;
    const { state: loaded } = await this.lookup(runId);
    const namespace = namespaceOf(loaded.identity);
    if (this.namespaces.size >= KNOWN_NAMESPACES) this.namespaces.clear();
    this.namespaces.set(runId, namespace);
    return namespace;
  }

  /** Throws -32011 unless `access` sees the run: at once for runs in memory, others are read once and remembered. */
  private async requireSeen(runId: string, access: RunAccess | undefined): Promise<void> {
    if (access?.namespace !== undefined && (await this.namespaceOfRun(runId)) !== access.namespace) throw runNotFound(runId);
  }

  /**
   * On a cluster, the status of a run this node holds nowhere in memory, from its row and item
   * counts (docs/cluster.md): no item is read, so a run of millions of items answers as cheaply as
   * a small one. Undefined when the run is in memory here (or resumes here), or the store cannot.
   */
  private async summaryStatus(runId: string, access?: RunAccess): Promise<RunStatus | undefined> {
    const summary = await this.storedSummary(runId);
    if (!summary) return undefined;
    requireVisible(summary.record, access);
    return storedRunStatus(summary);
  }

  /**
   * Whether a run not in memory here is stored unfinished, from its row alone (no item is read);
   * false for a run in memory here, which `get` waits on as it is. -32011 when there is no such run.
   */
  private async storedUnfinished(runId: string, access?: RunAccess): Promise<boolean> {
    const { store } = this;
    if (!store.runHead || !this.readsFromStore(runId)) return false;
    const head = await store.runHead(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot load run ${runId}`);
    });
    if (!head) throw runNotFound(runId);
    requireVisible(head.record, access);
    return head.state.completedAt === undefined;
  }

  /** Whether lookups of a run read its stored row and counts: the store can, and the run is not in memory here nor resuming here. */
  private readsFromStore(runId: string): boolean {
    return this.store.runSummary !== undefined && !this.recovery.waits(runId) && !this.registry.live(runId) && !this.registry.recentlyFinished(runId);
  }

  /** The stored summary of a run not in memory here ({@link summaryStatus}); -32011 when there is no such run. */
  private async storedSummary(runId: string): Promise<RunSummary | undefined> {
    const { store } = this;
    if (!store.runSummary || !this.readsFromStore(runId)) return undefined;
    // As `find` does with loads: a read under way that finds the run finished answers every lookup
    // made meanwhile (a waiter's answer and the run's `run.finished` both ask as it finishes); one
    // that finds it unfinished may have read before this lookup began, so this one reads again.
    const pending = this.summaries.get(runId);
    const earlier = pending && (await pending.catch(() => undefined));
    if (earlier?.state.completedAt !== undefined) return earlier;
    const reading = store.runSummary(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot load run ${runId}`);
    });
    this.summaries.set(runId, reading);
    const forget = () => {
      if (this.summaries.get(runId) === reading) this.summaries.delete(runId);
    };
    reading.then(forget, forget);
    const summary = await reading;
    if (!summary) throw runNotFound(runId);
    return summary;
  }

  /** A run in memory, else from the store (a run of an earlier process), else -32011; one `access` does not see answers as unknown. */
  private async lookup(runId: string, access?: RunAccess): Promise<{ state: RunState; live?: ActiveRun }> {
    const found = await this.find(runId);
    requireVisible(found.state.identity, access);
    return found;
  }

  private async find(runId: string): Promise<{ state: RunState; live?: ActiveRun }> {
    // A run of an earlier process not resumed yet: resume it now, so it can be waited on and cancelled.
    if (this.recovery.waits(runId)) await this.recovery.resume(runId);
    const live = this.registry.live(runId);
    if (live) return { state: live.state, live };
    const recent = this.registry.recentlyFinished(runId);
    // On a cluster another node may have deleted it since (runs/delete, retention).
    if (recent && this.shared && !(await this.storedRun(runId))) this.registry.forget([runId]);
    else if (recent) return { state: recent };
    // A load under way that finds the run terminal answers every lookup of it meanwhile (on a
    // cluster, a waiter's answer and the run's events both look a run up as it finishes); one that
    // finds it unfinished may have read before this lookup began, so this one reads again.
    const pending = this.loads.get(runId);
    const shared = pending && (await pending.catch(() => undefined));
    if (shared?.state.isTerminal) return shared;
    return this.load(runId);
  }

  /** Reads a run from the store, once at a time per run (see `find`). */
  private load(runId: string): Promise<{ state: RunState }> {
    const loading = (async () => {
      const loaded = await this.store.loadRun(runId).catch((err: unknown) => {
        throw asStoreError(err, `cannot load run ${runId}`);
      });
      if (!loaded) throw runNotFound(runId);
      // On a cluster, a run's running items may be running on any node right now.
      const state = restoreState(loaded, { keepRunning: this.shared !== undefined });
      if (state.isTerminal) this.registry.remember(state);
      return { state };
    })();
    this.loads.set(runId, loading);
    const forget = () => {
      if (this.loads.get(runId) === loading) this.loads.delete(runId);
    };
    loading.then(forget, forget);
    return loading;
  }

  /** Whether the store still holds the run. */
  private storedRun(runId: string): Promise<boolean> {
    return this.store.hasRun(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot load run ${runId}`);
    });
  }

  private async resolveFlow(
    flow: Record<string, unknown> | undefined,
    flowId: string | undefined,
    overrides: Overrides | undefined,
  ): Promise<{ flowId: string; compiled: CompiledFlow }> {
    const resolved = flow !== undefined ? await this.flows.putInline(flow) : await this.flows.load(flowId!);
    if (!overrides || Object.keys(overrides).length === 0) return resolved;
    return { flowId: resolved.flowId, compiled: compileOrInvalid(applyOverrides(resolved.compiled.flow, overrides), 'overrides') };
  }
}

/** -32013 for a run that cannot be deleted because it (or `blocking`, a child of it) is not terminal. */
function notDeletable(runId: string, blocking: string, status: string): RpcError {
  const which = blocking === runId ? `Run ${runId} is ${status}` : `Run ${runId} has a child run ${blocking} that is ${status}`;
  return new RpcError(ErrorCodes.Conflict, `${which}: only a finished run can be deleted`, { runId: blocking, status });
}

/** -32602 naming `cursor` unless it is one a listing of `method` could have returned. */
function requireListCursor(method: string, cursor: string | undefined): void {
  if (cursor !== undefined && !isSeqCursor(cursor)) {
    throw RpcError.invalidParams(`Invalid params for ${method}: field "cursor": not a cursor returned by ${method}`, { cursor });
  }
}
