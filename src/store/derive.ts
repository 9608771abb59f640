import type { Status } from '../../protocol/index.js';
import type { ItemCountsRecord, StoredRunState } from './state-store.js';

/** The status of a stored run: its terminal status once finished, else pending until an item has started, then running. */
export function deriveRunStatus(state: StoredRunState, counts: ItemCountsRecord): Status {
  if (state.completedAt !== undefined) return state.status;
  return counts.pending === counts.total ? 'pending' : 'running';
}
