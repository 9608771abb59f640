import { Disposable } from 'vscode-jsonrpc';
import type { FlowResult, ItemCounts, ItemResult, ResultOrder, RunStatus, Status } from '../../protocol/index.js';
import type { RunRecord, StepTiming, StoredItem } from '../statestore/state-store.js';
import { ITEM_STATUS_BY_CODE, ItemStatusCode as S } from '../statestore/item-status.js';
import { runStatusOf } from './run-status.js';

const STATUS_NAMES: readonly Status[] = ITEM_STATUS_BY_CODE;

/** What a run is, fixed at submit: the stored record without how it was submitted. */
export type RunIdentity = Pick<
  RunRecord,
  'runId' | 'flowId' | 'flowName' | 'flowLabel' | 'parentRunId' | 'createdAt' | 'total' | 'metadata' | 'idempotencyKey' | 'rerunOf' | 'recordSteps' | 'sourceIndices' | 'callback' | 'namespace' | 'submittedBy'
> &
  /** How it was submitted (shown by `runs/compare`); runs are built from the whole record, so these are there. */
  Partial<Pick<RunRecord, 'variables' | 'overrides' | 'maxConcurrency'>>;

/**
 * Hears every item transition and the run's end, in order: how the run manager journals a
 * run to its state store without a second place that knows the transitions.
 */
export interface RunStateJournal {
  /** `startedAt` in ms since the epoch (absent: not known). */
  itemStarted(index: number, attempt: number, startedAt?: number): void;
  /** `startedAt`: when the item's last attempt started (NaN if it never did); `steps`: its step records, when kept. */
  itemSettled(
    index: number, status: 'success' | 'failed' | 'cancelled', result: FlowResult | undefined, attempts: number, completedAt: number, completionSeq: number,
    startedAt?: number, steps?: StepTiming[],
  ): void;
  runFinished(status: Status, completedAt: number): void;
}

/** Options for a status snapshot (docs/protocol.md, `runs/get`). */
export interface SnapshotOptions {
  includeResults?: boolean;
  resultOrder?: ResultOrder;
  offset?: number;
  limit?: number;
}

/**
 * The live state of one run: one status byte, result, attempt count and completion time per
 * item, and the order in which items finished. Item transitions go through `startItem`,
 * `finishItem` and `cancelPending`, the one place where the counters change, so
 * `total = pending + running + success + failed + cancelled` holds after every call.
 */
export class RunState {
  readonly counts: ItemCounts;
  private readonly itemStatus: Uint8Array;
  private readonly attempts: Uint32Array;
  private readonly completedAt: Float64Array;
  /** When each item's last attempt started; NaN until it starts. */
  private readonly startedAt: Float64Array;
  /** When the first item started; NaN until one does. */
  private firstStartedAt = NaN;
  private readonly results: Array<FlowResult | undefined>;
  /** Item indices in the order they reached a terminal state. Append-only. */
  private readonly completionOrder: Int32Array;
  private completedCount = 0;
  private startedAny = false;
  private cancelRequested = false;
  /** Where the next slice of `cancelPending` looks for pending items. */
  private cancelScan = 0;
  private finishedAt: number | undefined;
  private startFailure: FlowResult | undefined;
  private terminalListeners: Array<() => void> | undefined;
  private settledListeners: Array<() => void> | undefined;
  /** Set after restoring, so replayed transitions are not journaled again. */
  journal: RunStateJournal | undefined;
  /** Called once when the first item starts (the run's `run.started` event, docs/events.md). */
  onFirstStart: (() => void) | undefined;

  constructor(readonly identity: RunIdentity) {
    const n = identity.total;
    this.itemStatus = new Uint8Array(n);
    this.attempts = new Uint32Array(n);
    this.completedAt = new Float64Array(n);
    this.startedAt = new Float64Array(n).fill(NaN);
    this.results = new Array(n);
    this.completionOrder = new Int32Array(n);
    this.counts = { total: n, pending: n, running: 0, success: 0, failed: 0, cancelled: 0 };
    if (n === 0) this.finishedAt = identity.createdAt;
  }

  get runId(): string {
    return this.identity.runId;
  }

  /** The run's status (docs/protocol.md, "How states change"), derived from the item counters. */
  get status(): Status {
    if (this.finishedAt === undefined) return this.startedAny ? 'running' : 'pending';
    if (this.cancelRequested) return 'cancelled';
    if (this.startFailure !== undefined) return 'failed';
    const c = this.counts;
    return c.total > 0 && c.failed === c.total ? 'failed' : 'success';
  }

  /** When the run turned terminal (ms since the epoch), or undefined. */
  get finishedAtMs(): number | undefined {
    return this.finishedAt;
  }

  get isTerminal(): boolean {
    return this.finishedAt !== undefined;
  }

  get isCancelRequested(): boolean {
    return this.cancelRequested;
  }

  itemStatusOf(index: number): Status {
    return STATUS_NAMES[this.itemStatus[index]];
  }

  attemptsOf(index: number): number {
    return this.attempts[index];
  }

  /** The result of a settled item, or undefined (unsettled, or cancelled without one). */
  resultOf(index: number): FlowResult | undefined {
    return this.results[index];
  }

  /**
   * Rebuilds a run from stored items: finished items are replayed in completion order (so
   * byCompletion survives), items that were running become pending again and keep their
   * attempt count, so their next execution is `attempts + 1` — or, with `keepRunning` (a view
   * of a run that cluster nodes execute), stay running.
   */
  static restore(identity: RunIdentity, items: readonly StoredItem[], cancelRequested: boolean, finishedAt?: number, options: { keepRunning?: boolean } = {}): RunState {
    const state = new RunState(identity);
    const finished = items
      .map((item, index) => ({ item, index }))
      .filter(({ item }) => item.status === 'success' || item.status === 'failed' || item.status === 'cancelled')
      .sort((a, b) => (a.item.completionSeq ?? 0) - (b.item.completionSeq ?? 0));
    items.forEach((item, index) => {
      if (item.startedAt !== undefined) state.noteStart(index, item.startedAt);
    });
    for (const { item, index } of finished) {
      state.counts.pending--;
      state.startedAny = true;
      state.settle(index, item.status as 'success' | 'failed' | 'cancelled', item.result, item.attempts, item.completedAt ?? identity.createdAt, undefined);
    }
    items.forEach((item, index) => {
      if (item.status === 'running' || item.status === 'pending') state.attempts[index] = item.attempts;
      // A view of a run another node executes: its running items are running, not to run again.
      if (item.status === 'running' && options.keepRunning) {
        state.itemStatus[index] = S.Running;
        state.counts.pending--;
        state.counts.running++;
        state.startedAny = true;
      }
    });
    state.cancelRequested = cancelRequested;
    // The stored end of a finished run is its end, as runs/list answers it (on a cluster, the
    // database's clock when the run's last chunk completed, a little after its last item).
    if (finishedAt !== undefined) state.finishedAt = finishedAt;
    return state;
  }

  /** pending → running with the given attempt number at `now`. Returns false when the item is no longer pending (cancelled). */
  startItem(index: number, attempt = 1, now: number = Date.now()): boolean {
    if (this.itemStatus[index] !== S.Pending) return false;
    this.itemStatus[index] = S.Running;
    this.attempts[index] = attempt;
    this.counts.pending--;
    this.counts.running++;
    const first = !this.startedAny;
    this.startedAny = true;
    this.noteStart(index, now);
    this.journal?.itemStarted(index, attempt, now);
    if (first) this.onFirstStart?.();
    return true;
  }

  /** running → success | failed | cancelled, recording the result (and the item's step records, when kept). Ignored unless running. */
  finishItem(index: number, outcome: 'success' | 'failed' | 'cancelled', result: FlowResult | undefined, attempts: number, now: number, steps?: StepTiming[]): void {
    if (this.itemStatus[index] !== S.Running) return;
    this.counts.running--;
    this.settle(index, outcome, result, attempts, now, steps);
  }

  private noteStart(index: number, at: number): void {
    this.startedAt[index] = at;
    // NaN compares false: the first start sets it.
    if (!(at >= this.firstStartedAt)) this.firstStartedAt = at;
  }

  /**
   * A settled item becomes failed with `result`: its transition could not be stored, and memory
   * must say what the store says. The run's status follows from the counters as always.
   */
  replaceWithFailure(index: number, result: FlowResult): void {
    const s = this.itemStatus[index];
    if (s < S.Success) return;
    if (s !== S.Failed) {
      this.counts[STATUS_NAMES[s] as 'success' | 'cancelled']--;
      this.counts.failed++;
      this.itemStatus[index] = S.Failed;
    }
    this.results[index] = result;
  }

  /**
   * Marks the run cancelled and cancels up to `maxItems` of its pending items, lowest index first;
   * running items are the caller's to abort. Returns true once no item is left pending: a caller
   * slicing a big run calls it again after a turn of the event loop until then, and the counters
   * are consistent between slices.
   */
  cancelPending(now: number, maxItems = Infinity): boolean {
    if (this.isTerminal) return true;
    this.cancelRequested = true;
    const status = this.itemStatus;
    let left = maxItems;
    let i = this.cancelScan;
    for (; i < status.length && this.counts.pending > 0 && left > 0; i++) {
      if (status[i] !== S.Pending) continue;
      this.counts.pending--;
      left--;
      this.settle(i, 'cancelled', undefined, this.attempts[i], now, undefined);
    }
    // Items never turn pending again, so the next slice goes on from here.
    this.cancelScan = i;
    this.checkTerminal(now);
    return this.counts.pending === 0;
  }

  /** The run could not start (flow failed to load after submit): every pending item fails with `error`. */
  failToStart(result: FlowResult, now: number): void {
    if (this.isTerminal) return;
    this.startFailure = result;
    const status = this.itemStatus;
    for (let i = 0; i < status.length; i++) {
      if (status[i] !== S.Pending) continue;
      this.counts.pending--;
      this.settle(i, 'failed', result, 0, now, undefined);
    }
    this.checkTerminal(now);
  }

  private settle(
    index: number, outcome: 'success' | 'failed' | 'cancelled', result: FlowResult | undefined, attempts: number, now: number, steps: StepTiming[] | undefined,
  ): void {
    this.itemStatus[index] = outcome === 'success' ? S.Success : outcome === 'failed' ? S.Failed : S.Cancelled;
    this.counts[outcome]++;
    this.results[index] = result;
    this.attempts[index] = attempts;
    this.completedAt[index] = now;
    const seq = this.completedCount++;
    this.completionOrder[seq] = index;
    this.journal?.itemSettled(index, outcome, result, attempts, now, seq, this.startedAt[index], steps);
    if (this.settledListeners) for (const l of this.settledListeners) l();
    this.checkTerminal(now);
  }

  private checkTerminal(now: number): void {
    if (this.finishedAt !== undefined || this.counts.pending > 0 || this.counts.running > 0) return;
    this.finishedAt = now;
    this.journal?.runFinished(this.status, now);
    const listeners = this.terminalListeners;
    this.terminalListeners = undefined;
    if (listeners) for (const l of listeners) l();
  }

  /** Calls `listener` once when the run turns terminal (at once if it already is), unless disposed before. */
  onTerminal(listener: () => void): Disposable {
    if (this.isTerminal) {
      listener();
      return Disposable.create(() => {});
    }
    (this.terminalListeners ??= []).push(listener);
    return Disposable.create(() => {
      const ls = this.terminalListeners;
      if (!ls) return;
      const i = ls.indexOf(listener);
      if (i >= 0) ls.splice(i, 1);
    });
  }

  /** Calls `listener` after each item reaches a terminal state (how `flowrun run` streams results), until disposed. */
  onItemSettled(listener: () => void): Disposable {
    (this.settledListeners ??= []).push(listener);
    return Disposable.create(() => {
      this.settledListeners = this.settledListeners?.filter((l) => l !== listener);
    });
  }

  /** The RunStatus of docs/protocol.md, with a page of results when asked. */
  snapshot(options: SnapshotOptions = {}): RunStatus {
    const startedAt = Number.isNaN(this.firstStartedAt) ? undefined : this.firstStartedAt;
    const status = runStatusOf(this.identity, this.status, { ...this.counts }, this.finishedAt, startedAt);
    if (options.includeResults) {
      const { results, nextOffset } = this.resultPage(options);
      status.results = results;
      if (nextOffset !== undefined) status.nextOffset = nextOffset;
    }
    return status;
  }

  /**
   * A page of item results. byIndex lists every item in input order (unfinished ones without a
   * result); byCompletion lists finished items in the order they finished, so pages of a
   * running run never repeat or skip an item.
   */
  resultPage(options: SnapshotOptions): { results: ItemResult[]; nextOffset?: number } {
    const offset = options.offset ?? 0;
    const byCompletion = options.resultOrder === 'byCompletion';
    const available = byCompletion ? this.completedCount : this.identity.total;
    const end = Math.min(available, options.limit === undefined ? available : offset + options.limit);
    const results = new Array<ItemResult>(Math.max(0, end - offset));
    // One cache per kind of time: start and completion times alternating would defeat a shared one.
    const iso = new IsoTimes();
    const startIso = new IsoTimes();
    for (let k = offset; k < end; k++) results[k - offset] = this.itemResult(byCompletion ? this.completionOrder[k] : k, iso, startIso);
    // More remain while the page ends before the last item (for byCompletion: also items yet to finish).
    const next = Math.max(end, offset);
    return next < this.identity.total ? { results, nextOffset: next } : { results };
  }

  private itemResult(index: number, iso: IsoTimes, startIso: IsoTimes): ItemResult {
    const s = this.itemStatus[index];
    const item: ItemResult = { itemIndex: index, status: STATUS_NAMES[s] };
    const result = this.results[index];
    if (result !== undefined) item.result = result;
    const startedAt = this.startedAt[index];
    if (!Number.isNaN(startedAt)) item.startedAt = startIso.of(startedAt);
    if (s >= S.Success) {
      item.completedAt = iso.of(this.completedAt[index]);
      if (!Number.isNaN(startedAt)) item.durationMs = Math.max(0, this.completedAt[index] - startedAt);
    }
    if (this.attempts[index] > 0) item.attempts = this.attempts[index];
    const sources = this.identity.sourceIndices;
    if (sources !== undefined) item.sourceIndex = sources[index];
    return item;
  }
}

/**
 * ISO 8601 texts of millisecond timestamps, remembering the last one: items finish many per
 * millisecond, so a page of results formats each distinct time once and shares the string.
 */
class IsoTimes {
  private lastMs = NaN;
  private lastText = '';

  of(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastText = new Date(ms).toISOString();
    }
    return this.lastText;
  }
}
