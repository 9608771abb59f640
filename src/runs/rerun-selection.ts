import { RpcError, type RerunItems, type Status } from '../../protocol/index.js';
import type { StoredItem } from '../statestore/state-store.js';

const BY_STATUS: Record<Exclude<RerunItems, number[]>, (status: Status) => boolean> = {
  failed: (status) => status === 'failed',
  failedOrCancelled: (status) => status === 'failed' || status === 'cancelled',
  all: () => true,
};

/**
 * The indices of the source run's items that `runs/rerun` runs again, ascending for a status
 * selection and as given for a list (docs/protocol.md, "runs/rerun"). A list naming an item the
 * run does not have, or one item twice, is refused (`-32602` naming the entry).
 */
export function selectRerunItems(items: readonly StoredItem[], selection: RerunItems): number[] {
  if (!Array.isArray(selection)) {
    const wanted = BY_STATUS[selection];
    const indices: number[] = [];
    for (const item of items) if (wanted(item.status)) indices.push(item.itemIndex);
    return indices;
  }
  const seen = new Set<number>();
  selection.forEach((index, k) => {
    if (index >= items.length) {
      throw RpcError.invalidParams(`Invalid params for runs/rerun: field "items[${k}]": the run has no item ${index} (it has ${items.length})`, { index });
    }
    if (seen.has(index)) throw RpcError.invalidParams(`Invalid params for runs/rerun: field "items[${k}]": item ${index} is named twice`, { index });
    seen.add(index);
  });
  return [...selection];
}
