import type { ItemDetail, StepRecord, StepTiming } from '../../protocol/index.js';
import type { StoredItemDetail } from '../statestore/state-store.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The wire form of a step record (docs/protocol.md, `runs/items`): times as ISO 8601. */
export function stepRecordOf(step: StepTiming): StepRecord {
  const record: StepRecord = {
    stepId: step.stepId,
    component: step.component,
    status: step.status,
    startedAt: iso(step.startedAt),
    durationMs: step.durationMs,
    attempts: step.attempts,
  };
  if (step.error !== undefined) record.error = step.error;
  return record;
}

/** The wire form of a stored item (docs/protocol.md, `runs/items`). */
export function itemDetailOf(item: StoredItemDetail): ItemDetail {
  const detail: ItemDetail = { itemIndex: item.itemIndex, status: item.status, attempts: item.attempts };
  if (item.startedAt !== undefined) detail.startedAt = iso(item.startedAt);
  if (item.completedAt !== undefined && item.completionSeq !== undefined) {
    detail.completedAt = iso(item.completedAt);
    if (item.startedAt !== undefined) detail.durationMs = Math.max(0, item.completedAt - item.startedAt);
  }
  if (item.result !== undefined) detail.result = item.result;
  if ('input' in item) detail.input = item.input;
  if (item.steps !== undefined) detail.steps = item.steps.map(stepRecordOf);
  return detail;
}
