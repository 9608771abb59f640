import type { CallbackState, RunStatus } from '../../protocol/index.js';
import type { StoredCallbackState } from '../statestore/callback-outbox.js';
import type { StateStore } from '../statestore/state-store.js';

/**
 * Fills in `RunStatus.callback` from the outbox of completion callbacks (docs/callbacks.md), where
 * its delivery state lives: for the runs given by id (a listing, whose records do not say which
 * runs have one), else for those whose status already names a callback.
 */
export async function withCallbackStates(store: StateStore, statuses: RunStatus[], ask?: readonly string[]): Promise<RunStatus[]> {
  const runIds = ask ?? statuses.filter((s) => s.callback !== undefined).map((s) => s.runId);
  if (runIds.length === 0) return statuses;
  const states = await store.callbackStates(runIds);
  for (const status of statuses) {
    const state = states.get(status.runId);
    if (state) status.callback = callbackStateOf(state);
  }
  return statuses;
}

/** The wire shape of a stored delivery state: times as ISO 8601. */
export function callbackStateOf(stored: StoredCallbackState): CallbackState {
  const state: CallbackState = { url: stored.url, attempts: stored.attempts };
  if (stored.lastAttemptAt !== undefined) state.lastAttemptAt = new Date(stored.lastAttemptAt).toISOString();
  if (stored.statusCode !== undefined) state.statusCode = stored.statusCode;
  if (stored.error !== undefined) state.error = stored.error;
  if (stored.deliveredAt !== undefined) state.deliveredAt = new Date(stored.deliveredAt).toISOString();
  return state;
}
