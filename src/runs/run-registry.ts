import { setMaxListeners } from 'node:events';
import type { Span } from '@opentelemetry/api';
import type { Observability } from '../../protocol/index.js';
import { ITEMS_PER_SLICE, yieldToEventLoop } from '../event-loop.js';
import type { StateStore } from '../statestore/state-store.js';
import { runTooDeep, tooManyLiveRuns, type RunLimits } from './run-limits.js';
import type { RunState } from './run-state.js';
import type { StoreWriter } from './store-writer.js';
import type { ItemTally } from './item-tally.js';
import { TurnBudget } from './turn-budget.js';
import { namespaceOf } from './run-access.js';
import { contextFrom, endWithResult, startRunSpan } from './tracing.js';

/** A run executing in this process. */
export interface ActiveRun {
  state: RunState;
  /** The run's span when tracing records, else undefined. */
  span?: Span;
  abort: AbortController;
  children: Set<string>;
  /** Set while a cancel is cancelling the run's pending items (see `RunRegistry.cancel`). */
  cancelling?: Promise<void>;
  /** 0 for a top-level run, its parent's depth + 1 for a child. */
  depth: number;
}

/** Child runs started per turn of the event loop at most (see `admit`). */
const CHILD_RUNS_PER_TURN = 64;

/** Finished runs kept in memory once journaled, for quick reads; the store holds them all. */
const RECENT_FINISHED_RUNS = 256;

export interface RunRegistryOptions {
  store: StateStore;
  writer: StoreWriter;
  now: () => number;
  limits: Required<RunLimits>;
  /** Counts the items of every live run as they settle. */
  tally: ItemTally;
}

/**
 * The runs this process knows in memory: live runs by id with their parent/child links, the
 * cancellation tree over them, the count of live runs that admission bounds, and recently
 * finished runs (retired from the live set once their last transition is stored).
 */
export class RunRegistry {
  /** Runs executing in this process. A finished run leaves once its last transition is stored. */
  private readonly runs = new Map<string, ActiveRun>();
  /** Recently finished runs, least recently used first. */
  private readonly recent = new Map<string, RunState>();
  /** Runs not yet terminal, plus those being created (counted against `maxLiveRuns`). */
  private liveRuns = 0;
  private readonly childStarts = new TurnBudget(CHILD_RUNS_PER_TURN);
  /** Live runs of each namespace that has any (its quota of live runs, docs/security.md). */
  private readonly liveByNamespace = new Map<string, number>();

  constructor(private readonly options: RunRegistryOptions) {}

  /** A live run, or undefined. */
  live(runId: string): ActiveRun | undefined {
    return this.runs.get(runId);
  }

  /** The in-memory state of a run (executing or recently finished), or undefined. */
  state(runId: string): RunState | undefined {
    return this.runs.get(runId)?.state ?? this.recent.get(runId);
  }

  /** A recently finished run, now the most recently used, or undefined. */
  recentlyFinished(runId: string): RunState | undefined {
    const state = this.recent.get(runId);
    if (state) this.remember(state);
    return state;
  }

  /** How many runs this process is executing (finished ones leave memory). */
  get size(): number {
    return this.runs.size;
  }

  /** How many runs of a namespace this process is executing. */
  liveIn(namespace: string): number {
    return this.liveByNamespace.get(namespace) ?? 0;
  }

  private leaveNamespace(namespace: string): void {
    const left = (this.liveByNamespace.get(namespace) ?? 1) - 1;
    if (left > 0) this.liveByNamespace.set(namespace, left);
    else this.liveByNamespace.delete(namespace);
  }

  /**
   * Takes a live-run slot for a new run, child of `parentRunId` if given, and returns its depth;
   * refuses (-32014) a child of a run at `maxRunDepth`, or any run while `maxLiveRuns` are live.
   */
  async admit(parentRunId: string | undefined): Promise<number> {
    const { limits } = this.options;
    // Builtins start child runs without I/O: a flow that starts itself would cascade through
    // microtasks alone and starve every client, so few children start per turn of the event loop.
    if (parentRunId !== undefined) await this.childStarts.take();
    const parentDepth = parentRunId === undefined ? -1 : await this.depthOf(parentRunId);
    if (parentRunId !== undefined && parentDepth >= limits.maxRunDepth) {
      throw runTooDeep(parentRunId, parentDepth, limits.maxRunDepth);
    }
    if (this.liveRuns >= limits.maxLiveRuns) {
      throw tooManyLiveRuns(limits.maxLiveRuns, parentRunId === undefined ? undefined : { runId: parentRunId, depth: parentDepth });
    }
    this.liveRuns++;
    return parentDepth + 1;
  }

  /** Gives back the slot `admit` took for a run that could not be created. */
  release(): void {
    this.liveRuns--;
  }

  /**
   * The depth of a run: kept with live runs; for others, counted along the `parentRunId` chain in
   * the store (no further than just past `maxRunDepth`, which is all a refusal needs to know).
   */
  async depthOf(runId: string): Promise<number> {
    const { store, limits } = this.options;
    let depth = 0;
    for (let id: string | undefined = runId; id !== undefined && depth <= limits.maxRunDepth; depth++) {
      const live = this.runs.get(id);
      if (live) return depth + live.depth;
      id = (await store.loadRun(id))?.record.parentRunId;
      if (id === undefined) return depth;
    }
    return depth;
  }

  /** Makes a run live; `admitted` when `admit` already counted it among the live runs. */
  activate(state: RunState, observability: Observability | undefined, depth: number, admitted: boolean): ActiveRun {
    const { runId, flowId, flowName, total, parentRunId } = state.identity;
    const span = startRunSpan(contextFrom(observability), { runId, flowId, flowName, items: total, parentRunId });
    const abort = new AbortController();
    // One signal per run, shared by every in-flight call of its items: many listeners are expected.
    setMaxListeners(0, abort.signal);
    const run: ActiveRun = { state, span, abort, children: new Set(), depth };
    if (span) state.onTerminal(() => endWithResult(span, undefined, state.status));
    state.journal = this.options.tally.counting(this.options.writer.journalFor(runId));
    this.runs.set(runId, run);
    if (!admitted) this.liveRuns++;
    state.onTerminal(() => this.liveRuns--);
    const namespace = namespaceOf(state.identity);
    this.liveByNamespace.set(namespace, (this.liveByNamespace.get(namespace) ?? 0) + 1);
    state.onTerminal(() => this.leaveNamespace(namespace));
    state.onTerminal(() => this.retire(run));
    if (parentRunId !== undefined) {
      const parent = this.runs.get(parentRunId);
      if (parent) {
        parent.children.add(runId);
        // A child submitted after its parent was cancelled is cancelled at once.
        if (parent.state.isCancelRequested) queueMicrotask(() => void this.cancel(run));
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
  cancel(run: ActiveRun): Promise<void> {
    if (run.state.isTerminal) return Promise.resolve();
    if (run.cancelling) return run.cancelling;
    this.options.writer.markCancelled(run.state.runId);
    // The first slice at once: a small run has no pending item left when this returns.
    const done = run.state.cancelPending(this.options.now(), ITEMS_PER_SLICE);
    run.abort.abort();
    const children = [...run.children].map((childId) => this.runs.get(childId)).filter((child) => child !== undefined);
    run.cancelling = Promise.all([done ? undefined : this.cancelRestSliced(run.state), ...children.map((child) => this.cancel(child))]).then(() => {});
    return run.cancelling;
  }

  /** Cancels every live run. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => this.cancel(run)));
  }

  /** Aborts the running items of every live run without cancelling it (the run stays unfinished). */
  abortAll(): void {
    for (const run of this.runs.values()) run.abort.abort();
  }

  /** Drops deleted runs (finished, so no longer executing) from memory: they are not found any more. */
  forget(runIds: readonly string[]): void {
    for (const runId of runIds) {
      this.recent.delete(runId);
      if (this.runs.get(runId)?.state.isTerminal) this.runs.delete(runId);
    }
  }

  /** Keeps a finished run among the recent ones, as the most recently used. */
  remember(state: RunState): void {
    this.recent.delete(state.runId);
    this.recent.set(state.runId, state);
    if (this.recent.size > RECENT_FINISHED_RUNS) this.recent.delete(this.recent.keys().next().value!);
  }

  private async cancelRestSliced(state: RunState): Promise<void> {
    do await yieldToEventLoop();
    while (!state.cancelPending(this.options.now(), ITEMS_PER_SLICE));
  }

  /** A finished run leaves the live set once its last transition is in the store. */
  private retire(run: ActiveRun): void {
    void this.options.writer.settled().then(() => {
      const { runId, parentRunId } = run.state.identity;
      if (this.runs.get(runId) !== run) return;
      this.runs.delete(runId);
      if (parentRunId !== undefined) this.runs.get(parentRunId)?.children.delete(runId);
      this.remember(run.state);
    });
  }
}
