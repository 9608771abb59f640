import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Span } from '@opentelemetry/api';
import {
  ErrorCodes,
  MAX_TIMEOUT_MS,
  RpcError,
  type FlowResult,
  type Observability,
  type Overrides,
  type RunStatus,
  type RunsGetParamsType,
  type RunsListParamsType,
  type RunsSubmitParamsType,
} from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { CompiledFlow } from '../flow/compile.js';
import { applyOverrides } from '../flow/overrides.js';
import {
  startItem, type ItemExecutionOptions, type ItemOutcome, type ItemSink, type RunningItem, type StepInvoker, type TransportRetries,
} from '../executor/item-executor.js';
import type { ExecutionScope } from '../calls/plugin.js';
import { ITEMS_PER_SLICE, yieldToEventLoop } from '../event-loop.js';
import { silentLogger, type Logger } from '../log.js';
import { MemoryStateStore } from '../statestore/memory-state-store.js';
import type { LoadedRun, RunRecord, RunSummary, StateStore } from '../statestore/state-store.js';
import { resolveRunLimits, runTooDeep, tooManyLiveRuns, type RunLimits } from './run-limits.js';
import { RunState } from './run-state.js';
import { FlowCache, compileOrInvalid } from './flow-cache.js';
import { cancelStaleChildren } from './stale-children.js';
import { StoreWriter } from './store-writer.js';
import { checkRunDataDepth, storableResult } from './data-depth.js';
import { asStoreError } from '../statestore/store-unavailable.js';
import { TurnBudget } from './turn-budget.js';
import { refuseUnroutedSteps } from './unrouted-steps.js';
import { contextFrom, endWithResult, startItemSpan, startRunSpan } from './tracing.js';

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
  /** Clock in ms since the epoch; injectable for tests. Default Date.now. */
  now?: () => number;
  /** Bounds on child-run depth and live runs (defaults in `run-limits.ts`). */
  limits?: RunLimits;
}

/** Who submits: a component executing an item (its run becomes the parent), or nobody. */
export interface SubmitContext {
  parent?: ExecutionScope;
  /** Released waits: a waiting submit returns early when this aborts. */
  signal?: AbortSignal;
  /** When given, a flow with a step no route takes is refused before the run starts (`-32602`). */
  isRoutable?: (component: string) => boolean;
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
}

interface ActiveRun {
  state: RunState;
  /** The run's span when tracing records, else undefined. */
  span?: Span;
  abort: AbortController;
  children: Set<string>;
  /** Set while a cancel is cancelling the run's pending items (see `cancelRun`). */
  cancelling?: Promise<void>;
  /** 0 for a top-level run, its parent's depth + 1 for a child. */
  depth: number;
}

const CANCELLED: FlowResult = { outcome: 'failed', error: { code: ErrorCodes.RequestCancelled, message: 'item cancelled' } };

/** Item completions between two turns given to the event loop (see `schedule`). */
const YIELD_EVERY_ITEMS = 256;

/** Child runs started per turn of the event loop at most (see `admit`). */
const CHILD_RUNS_PER_TURN = 64;

/** Finished runs kept in memory once journaled, for quick reads; the store holds them all. */
const RECENT_FINISHED_RUNS = 256;

/**
 * Runs flows over many inputs (docs/protocol.md): submit, get (with event-driven long poll), cancel,
 * list, and resume after a restart. Each run is scheduled by a pool of `maxConcurrency`
 * workers pulling the next pending item, so a run of a million items costs no more than its
 * workers. Live runs are held in memory and journaled to the state store in batches.
 */
export class RunManager {
  /** Runs executing in this process. A finished run leaves once its last transition is stored. */
  private readonly runs = new Map<string, ActiveRun>();
  /** Recently finished runs, least recently used first. */
  private readonly recent = new Map<string, RunState>();
  /** Item completions since the event loop last had a turn. */
  private sinceYield = 0;
  /** Set while every worker waits one turn of the event loop. */
  private pause: Promise<void> | undefined;
  private readonly flows: FlowCache;
  private readonly store: StateStore;
  private readonly writer: StoreWriter;
  private readonly logger: Logger;
  private readonly transportRetries: TransportRetries;
  private readonly now: () => number;
  private readonly limits: Required<RunLimits>;
  /** Runs not yet terminal, plus those being created (counted against `maxLiveRuns`). */
  private liveRuns = 0;
  /** Unfinished runs of an earlier process not resumed yet, and the resumption under way. */
  private readonly toResume = new Map<string, Promise<void> | undefined>();
  /** Set by `suspend` and `cancelAll`: runs not resumed yet stay as they are for the next process. */
  private stopping = false;
  private readonly childStarts = new TurnBudget(CHILD_RUNS_PER_TURN);

  constructor(private readonly options: RunManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.limits = resolveRunLimits(options.limits);
    this.transportRetries = options.transportRetries ?? 3;
    this.now = options.now ?? Date.now;
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
  }

  /** Submits a run (docs/protocol.md, `runs/submit`); with `wait`, returns when it is terminal or `timeoutMs` passed. */
  async submit(params: RunsSubmitParamsType, context: SubmitContext = {}): Promise<RunStatus> {
    const { flowId, compiled } = await this.resolveFlow(params.flow, params.flowId, params.overrides);
    if (context.isRoutable) refuseUnroutedSteps(compiled.flow, context.isRoutable);
    const run = await this.start(compiled, flowId, params.inputs, {
      maxConcurrency: params.maxConcurrency,
      variables: params.variables,
      overrides: params.overrides,
      flowLabel: params.flowLabel,
      parent: context.parent,
      observability: params.observability,
    });
    if (!params.wait) return run.state.snapshot();
    await this.waitTerminal(run.state, params.timeoutMs, context.signal);
    return run.state.snapshot({ includeResults: true });
  }

  /**
   * Starts a run of a compiled flow: the run is stored (with its inputs) before this resolves,
   * so an acknowledged run is never lost.
   */
  async start(compiled: CompiledFlow, flowId: string, inputs: readonly unknown[], options: StartOptions = {}): Promise<{ runId: string; state: RunState }> {
    await checkRunDataDepth(inputs, options.variables, options.overrides);
    const depth = await this.admit(options.parent?.runId);
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
    };
    try {
      await this.store.createRun(record, inputs);
    } catch (err) {
      this.liveRuns--; // the slot `admit` took
      throw asStoreError(err, `cannot store run ${record.runId}`);
    }
    const state = new RunState({ ...record });
    const run = this.activate(state, options.observability, depth, true);
    // A run of no items is terminal from birth, before its journal was attached: record that.
    if (state.isTerminal) state.journal?.runFinished(state.status, record.createdAt);
    this.logger.debug({ runId: record.runId, flowId, items: inputs.length, parentRunId: record.parentRunId, depth }, 'run submitted');
    void this.schedule(run, compiled, inputs, record.maxConcurrency, record.variables);
    return { runId: record.runId, state };
  }

  /**
   * Takes a live-run slot for a new run, child of `parentRunId` if given, and returns its depth;
   * refuses (-32014) a child of a run at `maxRunDepth`, or any run while `maxLiveRuns` are live.
   */
  private async admit(parentRunId: string | undefined): Promise<number> {
    // Builtins start child runs without I/O: a flow that starts itself would cascade through
    // microtasks alone and starve every client, so few children start per turn of the event loop.
    if (parentRunId !== undefined) await this.childStarts.take();
    const parentDepth = parentRunId === undefined ? -1 : await this.depthOf(parentRunId);
    if (parentRunId !== undefined && parentDepth >= this.limits.maxRunDepth) {
      throw runTooDeep(parentRunId, parentDepth, this.limits.maxRunDepth);
    }
    if (this.liveRuns >= this.limits.maxLiveRuns) {
      throw tooManyLiveRuns(this.limits.maxLiveRuns, parentRunId === undefined ? undefined : { runId: parentRunId, depth: parentDepth });
    }
    this.liveRuns++;
    return parentDepth + 1;
  }

  /**
   * The depth of a run: kept with live runs; for others, counted along the `parentRunId` chain in
   * the store (no further than just past `maxRunDepth`, which is all a refusal needs to know).
   */
  private async depthOf(runId: string): Promise<number> {
    let depth = 0;
    for (let id: string | undefined = runId; id !== undefined && depth <= this.limits.maxRunDepth; depth++) {
      const live = this.runs.get(id);
      if (live) return depth + live.depth;
      id = (await this.store.loadRun(id))?.record.parentRunId;
      if (id === undefined) return depth;
    }
    return depth;
  }

  /**
   * Resumes every unfinished run of the state store (after a restart): finished items keep
   * their results, items that were running run again with `attempt + 1`, runs whose cancel was
   * requested finish cancelling; unfinished child runs of items that run again are cancelled
   * (their new attempt submits its own). Runs resume one at a time, each after a turn of the event
   * loop, so a server started first keeps answering; a run asked for (`get`, `cancel`) before its
   * turn resumes at once. Resolves, with how many runs there were, once all have resumed.
   */
  async recover(): Promise<number> {
    const ids = (await this.store.unfinishedRuns()).filter((runId) => !this.runs.has(runId));
    for (const runId of ids) if (!this.toResume.has(runId)) this.toResume.set(runId, undefined);
    for (const runId of ids) {
      await yieldToEventLoop();
      if (this.stopping) break;
      await this.resume(runId);
    }
    return ids.length;
  }

  /** Resumes a run of an earlier process if it still waits for that (once, however often asked). */
  private resume(runId: string): Promise<void> {
    if (!this.toResume.has(runId)) return Promise.resolve();
    let resuming = this.toResume.get(runId);
    if (resuming === undefined) {
      resuming = this.resumeRun(runId)
        .catch((err: unknown) => this.logger.error({ err, runId }, `cannot resume run ${runId}: ${(err as Error)?.message ?? String(err)}`))
        .finally(() => this.toResume.delete(runId));
      this.toResume.set(runId, resuming);
    }
    return resuming;
  }

  /** Loads a stored unfinished run and executes what is left of it. */
  private async resumeRun(runId: string): Promise<void> {
    let loaded = await this.store.loadRun(runId);
    if (!loaded || this.runs.has(runId)) return;
    if (loaded.record.parentRunId !== undefined) {
      // Its parent first, so that cancelling the parent reaches it. Resuming the parent may cancel
      // this run (a child of an item that runs again), so it is read again after.
      await this.resume(loaded.record.parentRunId);
      loaded = await this.store.loadRun(runId);
      if (!loaded || this.runs.has(runId)) return;
    }
    const { record } = loaded;
    const depth = record.parentRunId === undefined ? 0 : (await this.depthOf(record.parentRunId)) + 1;
    const stale = await cancelStaleChildren(this.store, loaded);
    if (stale.length > 0) this.logger.info({ runId, childRunIds: stale }, 'cancelling child runs of items that run again');
    const state = restoreState(loaded);
    // Every item was stored settled, but not the run's finish (a crash in between): record it now.
    if (state.isTerminal) {
      this.activate(state, undefined, depth, false);
      state.journal?.runFinished(state.status, state.finishedAtMs!);
      return;
    }
    if (state.isCancelRequested) {
      void this.cancelRun(this.activate(state, undefined, depth, false));
      return;
    }
    const inputs = await this.store.loadInputs(runId);
    let compiled: CompiledFlow | undefined;
    let failure: FlowResult | undefined;
    try {
      ({ compiled } = await this.resolveFlow(undefined, record.flowId, record.overrides));
    } catch (err) {
      failure = { outcome: 'failed', error: err instanceof RpcError ? err.toObject() : { code: ErrorCodes.InternalError, message: String(err) } };
    }
    const run = this.activate(state, undefined, depth, false);
    if (compiled === undefined) {
      run.state.failToStart(failure!, this.now());
      return;
    }
    this.logger.debug({ runId, items: record.total, remaining: run.state.counts.pending }, 'resuming run');
    void this.schedule(run, compiled, inputs, record.maxConcurrency, record.variables);
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
    const { runId, state } = await this.start(compiled, flowId, inputs, { maxConcurrency: options.maxConcurrency, parent: options.parent });
    const onAbort = () => void this.cancel(runId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.waitTerminal(state);
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
  async get(params: RunsGetParamsType, signal?: AbortSignal): Promise<RunStatus> {
    const { state, live } = await this.lookup(params.runId);
    if (params.wait && live) await this.waitTerminal(state, params.timeoutMs, signal);
    return state.snapshot({
      includeResults: params.includeResults,
      resultOrder: params.resultOrder,
      offset: params.offset,
      limit: params.limit,
    });
  }

  /** Cancels a run and its children (docs/protocol.md, `runs/cancel`). A terminal run is returned unchanged. */
  async cancel(runId: string): Promise<RunStatus> {
    const { state, live } = await this.lookup(runId);
    if (live) await this.cancelRun(live);
    return state.snapshot();
  }

  /** Lists runs newest first with filters and cursor paging (docs/protocol.md, `runs/list`). */
  async list(params: RunsListParamsType): Promise<{ runs: RunStatus[]; nextCursor?: string }> {
    const flowId = params.flowId === undefined ? undefined : (normalizeBlobId(params.flowId) ?? params.flowId);
    if (params.cursor !== undefined && !/^[0-9a-z]{1,11}$/.test(params.cursor)) {
      throw RpcError.invalidParams('Invalid params for runs/list: field "cursor": not a cursor returned by runs/list', { cursor: params.cursor });
    }
    // Filters run in the store: bring it up to date with memory first (list is not a hot path),
    // unless the store is unreachable: then the query fails at once instead of waiting for it.
    if (!this.writer.unreachable) await this.writer.settled();
    const page = await this.store.listRuns({
      statuses: params.status,
      flowId,
      parentRunId: params.parentRunId,
      createdAfter: params.createdAfter === undefined ? undefined : Date.parse(params.createdAfter),
      createdBefore: params.createdBefore === undefined ? undefined : Date.parse(params.createdBefore),
      cursor: params.cursor,
      limit: params.limit,
    }).catch((err: unknown) => {
      throw asStoreError(err, 'cannot list runs');
    });
    // Live runs answer from memory (their counters are ahead of the journal).
    const runs = page.runs.map((s) => this.runs.get(s.record.runId)?.state.snapshot() ?? summaryStatus(s));
    return page.nextCursor === undefined ? { runs } : { runs, nextCursor: page.nextCursor };
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

  /** The in-memory state of a run (executing or recently finished), or undefined. */
  state(runId: string): RunState | undefined {
    return this.runs.get(runId)?.state ?? this.recent.get(runId);
  }

  /** How many runs this process is executing (finished ones leave memory). */
  get liveRunCount(): number {
    return this.runs.size;
  }

  /** Cancels every unfinished run (`flowrun run` at exit), and waits until the store has it all. */
  async cancelAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.runs.values()].map((run) => this.cancelRun(run)));
    await this.writer.drain();
  }

  /**
   * Stops without cancelling: in-flight items are abandoned and nothing more is journaled, so a
   * durable store still holds them as unfinished and the next process resumes them.
   */
  async suspend(): Promise<void> {
    this.stopping = true;
    this.writer.stop();
    for (const run of this.runs.values()) run.abort.abort();
    await this.writer.drain();
  }

  /** Waits until every transition so far is in the state store. */
  flush(): Promise<void> {
    return this.writer.settled();
  }

  /** Makes a run live; `admitted` when `admit` already counted it among the live runs. */
  private activate(state: RunState, observability: Observability | undefined, depth: number, admitted: boolean): ActiveRun {
    const { runId, flowId, flowName, total, parentRunId } = state.identity;
    const span = startRunSpan(contextFrom(observability), { runId, flowId, flowName, items: total, parentRunId });
    const abort = new AbortController();
    // One signal per run, shared by every in-flight call of its items: many listeners are expected.
    setMaxListeners(0, abort.signal);
    const run: ActiveRun = { state, span, abort, children: new Set(), depth };
    if (span) state.onTerminal(() => endWithResult(span, undefined, state.status));
    state.journal = this.writer.journalFor(runId);
    this.runs.set(runId, run);
    if (!admitted) this.liveRuns++;
    state.onTerminal(() => this.liveRuns--);
    state.onTerminal(() => this.retire(run));
    if (parentRunId !== undefined) {
      const parent = this.runs.get(parentRunId);
      if (parent) {
        parent.children.add(runId);
        // A child submitted after its parent was cancelled is cancelled at once.
        if (parent.state.isCancelRequested) queueMicrotask(() => void this.cancelRun(run));
      }
    }
    return run;
  }

  /**
   * Cancels a run and its children. Pending items are cancelled in slices with a turn of the
   * event loop between them (a run of 100k pending items would block it for a noticeable time);
   * resolves once none is left pending. The cancel is recorded first, so a crash mid-way still
   * ends the run cancelled.
   */
  private cancelRun(run: ActiveRun): Promise<void> {
    if (run.state.isTerminal) return Promise.resolve();
    if (run.cancelling) return run.cancelling;
    this.writer.markCancelled(run.state.runId);
    // The first slice at once: a small run has no pending item left when this returns.
    const done = run.state.cancelPending(this.now(), ITEMS_PER_SLICE);
    run.abort.abort();
    const children = [...run.children].map((childId) => this.runs.get(childId)).filter((child) => child !== undefined);
    run.cancelling = Promise.all([done ? undefined : this.cancelRestSliced(run.state), ...children.map((child) => this.cancelRun(child))]).then(() => {});
    return run.cancelling;
  }

  private async cancelRestSliced(state: RunState): Promise<void> {
    do await yieldToEventLoop();
    while (!state.cancelPending(this.now(), ITEMS_PER_SLICE));
  }

  /** A run in memory, else from the store (a run of an earlier process), else -32011. */
  private async lookup(runId: string): Promise<{ state: RunState; live?: ActiveRun }> {
    // A run of an earlier process not resumed yet: resume it now, so it can be waited on and cancelled.
    if (this.toResume.has(runId)) await this.resume(runId);
    const live = this.runs.get(runId);
    if (live) return { state: live.state, live };
    const recent = this.recent.get(runId);
    if (recent) {
      this.remember(recent);
      return { state: recent };
    }
    const loaded = await this.store.loadRun(runId).catch((err: unknown) => {
      throw asStoreError(err, `cannot load run ${runId}`);
    });
    if (!loaded) throw RpcError.notFound(`Run not found: ${runId}`, { runId });
    const state = restoreState(loaded);
    if (state.isTerminal) this.remember(state);
    return { state };
  }

  /** A finished run leaves the live set once its last transition is in the store. */
  private retire(run: ActiveRun): void {
    void this.writer.settled().then(() => {
      const { runId, parentRunId } = run.state.identity;
      if (this.runs.get(runId) !== run) return;
      this.runs.delete(runId);
      if (parentRunId !== undefined) this.runs.get(parentRunId)?.children.delete(runId);
      this.remember(run.state);
    });
  }

  private remember(state: RunState): void {
    this.recent.delete(state.runId);
    this.recent.set(state.runId, state);
    if (this.recent.size > RECENT_FINISHED_RUNS) this.recent.delete(this.recent.keys().next().value!);
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

  /** executeItem turns flow-level failures into results; a throw is a bug, kept from killing the run. */
  private itemThrew(err: unknown, runId: string, itemIndex: number): FlowResult {
    this.logger.error({ err, runId, itemIndex }, 'item execution threw');
    return { outcome: 'failed', error: { code: ErrorCodes.InternalError, message: String((err as Error)?.message ?? err) } };
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
    const workers = Math.min(Math.max(1, maxConcurrency), total);
    let next = 0;
    /** Items started and not yet finished (at most `workers`). */
    let active = 0;
    /** Workers launched so far (256 per turn of the event loop), and how many of them wait for an item. */
    let launched = 0;
    let idle = 0;
    /** Set while the pump waits for `this.pause`. */
    let paused = false;
    /** Item spans by index, only when tracing. */
    const spans = run.span ? new Map<number, Span>() : undefined;
    // The scheduler is callback-driven rather than `workers` async loops awaiting a promise per
    // item: an item's completion finishes it and starts the next one in the same microtask (one
    // promise and one hop less per item), and its running items are cancelled by one abort
    // listener for the whole run instead of one watch per item.
    const running = new RunningItems();
    // One options object for every item of the run: startItem reads the per-item fields at once.
    const itemOptions: ItemExecutionOptions = {
      runId, itemIndex: 0, flowId, variables, invoke, signal, transportRetries, firstAttempt: 1, traceContext: undefined,
    };
    /** `signal.aborted`, kept by the listener below: the getter costs more than a field, twice per item. */
    let aborted = signal.aborted;
    let allDone!: () => void;
    const finished = new Promise<void>((resolve) => (allDone = resolve));

    const finish = (index: number, outcome: FlowResult, attempts: number): void => {
      const result = storableResult(outcome, runId, index);
      const cancelled = aborted && result.outcome === 'failed' && result.error.code === ErrorCodes.RequestCancelled;
      const span = spans?.get(index);
      if (span) {
        spans!.delete(index);
        endWithResult(span, result, cancelled ? 'cancelled' : result.outcome);
      }
      if (cancelled) state.finishItem(index, 'cancelled', undefined, attempts, this.now());
      else state.finishItem(index, result.outcome === 'failed' ? 'failed' : 'success', result, attempts, this.now());
      // Components that answer without I/O (mock, builtins) would chain microtasks for the
      // whole run: every so often the run pauses for one turn of the event loop.
      if (++this.sinceYield >= YIELD_EVERY_ITEMS) {
        this.sinceYield = 0;
        // A journal far behind (the store unreachable) holds new items back until it catches up.
        this.pause ??= (this.writer.whenBelowLimit() ?? yieldToEventLoop()).then(() => {
          this.pause = undefined;
        });
      }
    };

    /**
     * Starts items while a launched worker is idle and items are left; items known at once finish
     * in the loop (the worker goes on with the next one, as an async loop would).
     */
    const pump = (): void => {
      while (idle > 0 && next < total && !aborted) {
        if (this.pause) {
          if (!paused) {
            paused = true;
            void this.pause.then(resume);
          }
          return;
        }
        const index = next++;
        // A resumed item that was running before the restart runs again as attempt + 1.
        const firstAttempt = state.attemptsOf(index) + 1;
        if (!state.startItem(index, firstAttempt)) continue;
        const itemSpan = run.span ? startItemSpan(run.span, runId, index) : undefined;
        if (itemSpan) spans!.set(index, itemSpan.span);
        let started: ItemOutcome | RunningItem;
        try {
          itemOptions.itemIndex = index;
          itemOptions.firstAttempt = firstAttempt;
          itemOptions.traceContext = itemSpan?.context;
          started = startItem(compiled, inputs[index], itemOptions, sink);
        } catch (err) {
          started = { result: this.itemThrew(err, runId, index), attempts: firstAttempt };
        }
        if ('result' in started) finish(index, started.result, started.attempts);
        else {
          idle--;
          active++;
          running.add(started);
        }
      }
      if (active === 0 && launched === workers && !paused) allDone();
    };

    const resume = (): void => {
      paused = false;
      pump();
    };

    const sink: ItemSink = {
      itemSettled: (item, result, attempts) => {
        running.remove(item);
        active--;
        idle++;
        try {
          finish(item.itemIndex, result, attempts);
        } catch (err) {
          this.logger.error({ err, runId, itemIndex: item.itemIndex }, 'finishing an item threw');
        }
        pump();
      },
    };

    signal.addEventListener('abort', () => {
      aborted = true;
      running.abortAll();
    }, { once: true });

    while (launched < workers) {
      const batch = Math.min(YIELD_EVERY_ITEMS, workers - launched);
      launched += batch;
      idle += batch;
      pump(); // starts an item per new worker at once
      if (launched < workers) await yieldToEventLoop();
    }
    if (workers === 0) allDone(); // a run of no items
    await finished;
    if (state.isTerminal) this.logger.debug({ runId, status: state.status, items: state.counts }, 'run finished');
  }
}

/**
 * The items of a run still executing, for cancelling them all: an array in which each item
 * knows its slot, so adding and removing cost no hashing (twice per item on the hot path).
 */
class RunningItems {
  private readonly items: RunningItem[] = [];

  add(item: RunningItem): void {
    item.slot = this.items.length;
    this.items.push(item);
  }

  remove(item: RunningItem): void {
    const slot = item.slot;
    if (slot < 0 || this.items[slot] !== item) return;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[slot] = last;
      last.slot = slot;
    }
    item.slot = -1;
  }

  /** Aborts every running item; each is removed as it settles (its outcome goes to the sink). */
  abortAll(): void {
    for (const item of [...this.items]) item.aborted();
  }
}

/** A RunState rebuilt from the store. */
function restoreState(loaded: LoadedRun): RunState {
  const { record, state, items } = loaded;
  return RunState.restore({ ...record }, items, state.cancelRequested, state.completedAt);
}

/** The RunStatus of a stored run that is not in memory. */
function summaryStatus(s: RunSummary): RunStatus {
  const { record, state, counts } = s;
  return {
    runId: record.runId,
    flowId: record.flowId,
    ...(record.flowName !== undefined && { flowName: record.flowName }),
    ...(record.flowLabel !== undefined && { flowLabel: record.flowLabel }),
    ...(record.parentRunId !== undefined && { parentRunId: record.parentRunId }),
    status: state.status,
    items: counts,
    createdAt: new Date(record.createdAt).toISOString(),
    ...(state.completedAt !== undefined && { completedAt: new Date(state.completedAt).toISOString() }),
  };
}
