import type { Status } from '../../protocol/index.js';
import type { ItemCountsRecord, StoredRunState } from './state-store.js';

/**
 * The status of a stored run, by the same rule as a live run's (docs/state-stores.md): its
 * recorded terminal status once finished; else terminal by its items when none is pending or
 * running (a crash between the last item and the run's finish record); else pending until an
 * item has started, then running.
 */
export function deriveRunStatus(state: StoredRunState, counts: ItemCountsRecord): Status {
  if (state.completedAt !== undefined) return state.status;
  if (counts.pending === 0 && counts.running === 0) {
    if (state.cancelRequested) return 'cancelled';
    return counts.total > 0 && counts.failed === counts.total ? 'failed' : 'success';
  }
  return counts.pending === counts.total ? 'pending' : 'running';
}
