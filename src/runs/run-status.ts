import type { ItemCounts, RunStatus, Status } from '../../protocol/index.js';
import type { RunSummary } from '../statestore/state-store.js';
import type { RunIdentity } from './run-state.js';
import { clientIdempotencyKey } from './run-access.js';

/**
 * The RunStatus of docs/protocol.md, without results: the one place that shapes it, for a run in
 * memory and for one read from the store alike, so `runs/get` and `runs/list` answer the same.
 */
export function runStatusOf(id: RunIdentity, status: Status, items: ItemCounts, completedAt: number | undefined, startedAt: number | undefined): RunStatus {
  return {
    runId: id.runId,
    flowId: id.flowId,
    ...(id.flowName !== undefined && { flowName: id.flowName }),
    ...(id.flowLabel !== undefined && { flowLabel: id.flowLabel }),
    ...(id.parentRunId !== undefined && { parentRunId: id.parentRunId }),
    status,
    items,
    createdAt: new Date(id.createdAt).toISOString(),
    ...(completedAt !== undefined && { completedAt: new Date(completedAt).toISOString() }),
    ...(startedAt !== undefined && { startedAt: new Date(startedAt).toISOString() }),
    ...(completedAt !== undefined && { durationMs: Math.max(0, completedAt - id.createdAt) }),
    ...(id.metadata !== undefined && { metadata: id.metadata }),
    ...(id.idempotencyKey !== undefined && { idempotencyKey: clientIdempotencyKey(id.idempotencyKey, id.namespace) }),
    ...(id.rerunOf !== undefined && { rerunOf: id.rerunOf }),
    ...(id.submittedBy !== undefined && { submittedBy: id.submittedBy }),
    // The delivery state is the outbox's: the run manager fills it in (`callback-states.ts`).
    ...(id.callback !== undefined && { callback: { url: id.callback.url, attempts: 0 } }),
  };
}

/** The RunStatus of a stored run that is not in memory (its status and counters as the store derived them). */
export function storedRunStatus({ record, state, counts, startedAt }: RunSummary): RunStatus {
  return runStatusOf(record, state.status, counts, state.completedAt, startedAt);
}
