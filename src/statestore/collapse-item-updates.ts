import type { FlowResult, Status } from '../../protocol/index.js';
import type { ItemUpdate } from './state-store.js';

/** The net effect of a batch on one item. */
export interface CollapsedItemUpdate {
  runId: string;
  itemIndex: number;
  status: Status;
  attempts: number;
  /** The last terminal transition's fields, when the batch had one (a later `running` keeps them, as it would one by one). */
  settled?: { result?: FlowResult; completedAt: number; completionSeq: number };
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
    if (u.status !== 'running') item.settled = { result: u.result, completedAt: u.completedAt, completionSeq: u.completionSeq };
  }
  return [...byItem.values()];
}
