import type { FlowResult, Status } from '../../protocol/index.js';
import { RUNNING_CODE, type ItemTransitions } from './item-transitions.js';
import type { ItemUpdate, StepTiming } from './state-store.js';

/** The net effect of a batch on one item. */
export interface CollapsedItemUpdate {
  runId: string;
  itemIndex: number;
  status: Status;
  attempts: number;
  /** When the item's latest attempt started, when known. */
  startedAt?: number;
  /** The last terminal transition's fields, when the batch had one (a later `running` keeps them, as it would one by one). */
  settled?: { result?: FlowResult; completedAt: number; completionSeq: number; steps?: StepTiming[] };
}

/**
 * Folds a batch into one update per item with the effect of applying it in order, for set-based
 * UPDATEs: a row matched twice by one UPDATE … FROM would take an arbitrary one of its updates.
 */
export function collapseItemUpdates(updates: readonly ItemUpdate[]): CollapsedItemUpdate[] {
  const byItem = new Map<string, CollapsedItemUpdate>();
  for (const u of updates) {
    const key = `${u.itemIndex}:${u.runId}`;
    let item = byItem.get(key);
    if (!item) byItem.set(key, (item = { runId: u.runId, itemIndex: u.itemIndex, status: u.status, attempts: u.attempts }));
    item.status = u.status;
    item.attempts = u.attempts;
    if (u.startedAt !== undefined) item.startedAt = u.startedAt;
    if (u.status !== 'running') item.settled = { result: u.result, completedAt: u.completedAt, completionSeq: u.completionSeq, steps: u.steps };
  }
  return [...byItem.values()];
}

/** What a later transition of the same item does to an earlier one: overwrite what a start writes, or everything. */
const LATER_START = 1;
const LATER_SETTLE = 2;

/**
 * Which transitions of a batch a later transition of the same item overwrites completely, for
 * stores that apply a batch row by row: `1` at those, else `0`, or `2` at a settle kept together
 * with a later start of its item (a store applying the batch as one set of rows must merge those).
 * A later settle overwrites every field; a later start only status and attempts. Applying the
 * transitions not marked `1` in order has the effect of applying them all; an item that started
 * and settled within one batch costs one row update, not two.
 */
export function supersededTransitions(batch: ItemTransitions): Uint8Array {
  const superseded = new Uint8Array(batch.length);
  const { runIds, indices, statuses } = batch;
  // Per run, per item: the strongest transition seen later in the batch.
  const later = new Map<string, Map<number, number>>();
  for (let k = batch.length - 1; k >= 0; k--) {
    let items = later.get(runIds[k]);
    if (!items) later.set(runIds[k], (items = new Map()));
    const seen = items.get(indices[k]) ?? 0;
    if (statuses[k] === RUNNING_CODE) {
      if (seen !== 0) superseded[k] = 1;
      else items.set(indices[k], LATER_START);
    } else if (seen === LATER_SETTLE) {
      superseded[k] = 1;
    } else {
      if (seen === LATER_START) superseded[k] = 2;
      items.set(indices[k], LATER_SETTLE);
    }
  }
  return superseded;
}
