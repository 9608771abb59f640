import type { FlowResult } from '../../protocol/index.js';
import type { ItemUpdate, StepTiming } from './state-store.js';

import { ITEM_STATUS_BY_CODE, ItemStatusCode, SETTLED_CODE } from './item-status.js';

/** The code of a `running` transition (`pending` is never a transition). */
export const RUNNING_CODE = ItemStatusCode.Running;

/**
 * Item transitions in order, kept column by column: recording one costs a few array pushes
 * instead of an object, and a store applies them without making any (bench/HISTORY.md: with one object
 * per transition, journaling took ≈0.7 µs of the ≈4 µs a small item cost the runtime, and such
 * objects were most of what the GC promoted in a run of a million items).
 */
export class ItemTransitions {
  // Columns are written by index up to `length` and keep their capacity across `clear()`: a
  // writer that reuses a batch stops growing arrays (growth was half of what journaling allocated).
  readonly runIds: string[] = [];
  readonly indices: number[] = [];
  /** Codes of {@link ITEM_STATUS_BY_CODE}. */
  readonly statuses: number[] = [];
  readonly attempts: number[] = [];
  /** Settled transitions only; `undefined` for `running` ones. */
  readonly results: Array<FlowResult | undefined> = [];
  /** Settled transitions only (ms since the epoch); 0 for `running` ones. */
  readonly completedAt: number[] = [];
  /** Settled transitions only; -1 for `running` ones. */
  readonly completionSeqs: number[] = [];
  /** When the item's attempt started (ms since the epoch); NaN for an item that never started. */
  readonly startedAt: number[] = [];
  /** Settled transitions whose step records are kept; `undefined` for the others. */
  readonly steps: Array<StepTiming[] | undefined> = [];
  /**
   * The epoch of the chunk lease a cluster node recorded the transition under, which its fenced
   * write checks (docs/cluster.md, "Fencing"); 0 outside a cluster.
   */
  readonly fences: number[] = [];
  private count = 0;

  /** Transitions from objects (tests, callers off the hot path). */
  static of(updates: readonly ItemUpdate[]): ItemTransitions {
    const t = new ItemTransitions();
    for (const u of updates) {
      if (u.status === 'running') t.started(u.runId, u.itemIndex, u.attempts, u.startedAt ?? NaN);
      else t.settled(u.runId, u.itemIndex, u.status, u.attempts, u.result, u.completedAt, u.completionSeq, u.startedAt ?? NaN, u.steps);
    }
    return t;
  }

  /** How many transitions there are: read the columns below this index only. */
  get length(): number {
    return this.count;
  }

  /** How many transitions the columns have room for without growing. */
  get capacity(): number {
    return this.indices.length;
  }

  /** An item starts its attempt `attempts` at `startedAt`. */
  started(runId: string, itemIndex: number, attempts: number, startedAt = NaN, fence = 0): void {
    this.push(runId, itemIndex, RUNNING_CODE, attempts, undefined, 0, -1, startedAt, undefined, fence);
  }

  /** An item settles. */
  settled(
    runId: string,
    itemIndex: number,
    status: keyof typeof SETTLED_CODE,
    attempts: number,
    result: FlowResult | undefined,
    completedAt: number,
    completionSeq: number,
    startedAt = NaN,
    steps?: StepTiming[],
    fence = 0,
  ): void {
    this.push(runId, itemIndex, SETTLED_CODE[status], attempts, result, completedAt, completionSeq, startedAt, steps, fence);
  }

  /** Appends transition `k` of another batch. */
  append(from: ItemTransitions, k: number): void {
    this.push(
      from.runIds[k], from.indices[k], from.statuses[k], from.attempts[k], from.results[k], from.completedAt[k], from.completionSeqs[k], from.startedAt[k], from.steps[k],
      from.fences[k],
    );
  }

  /** Transition `k` as an object. */
  at(k: number): ItemUpdate {
    const status = ITEM_STATUS_BY_CODE[this.statuses[k]];
    const startedAt = Number.isNaN(this.startedAt[k]) ? undefined : this.startedAt[k];
    if (status === 'running') return { runId: this.runIds[k], itemIndex: this.indices[k], status, attempts: this.attempts[k], startedAt };
    return {
      runId: this.runIds[k],
      itemIndex: this.indices[k],
      status: status as keyof typeof SETTLED_CODE,
      attempts: this.attempts[k],
      result: this.results[k],
      completedAt: this.completedAt[k],
      completionSeq: this.completionSeqs[k],
      startedAt,
      steps: this.steps[k],
    };
  }

  /** Every transition as an object, in order. */
  toUpdates(): ItemUpdate[] {
    const updates = new Array<ItemUpdate>(this.count);
    for (let k = 0; k < updates.length; k++) updates[k] = this.at(k);
    return updates;
  }

  /** Empties the batch for reuse, keeping the columns' capacity (and dropping its results). */
  clear(): void {
    this.results.fill(undefined, 0, this.count);
    this.steps.fill(undefined, 0, this.count);
    this.count = 0;
  }

  private push(
    runId: string, index: number, status: number, attempts: number, result: FlowResult | undefined, completedAt: number, completionSeq: number,
    startedAt: number, steps: StepTiming[] | undefined, fence: number,
  ): void {
    const k = this.count++;
    this.runIds[k] = runId;
    this.indices[k] = index;
    this.statuses[k] = status;
    this.attempts[k] = attempts;
    this.results[k] = result;
    this.completedAt[k] = completedAt;
    this.completionSeqs[k] = completionSeq;
    this.startedAt[k] = startedAt;
    this.steps[k] = steps;
    this.fences[k] = fence;
  }
}
