import type { Status } from '../../protocol/index.js';
import type {
  ItemCountsRecord,
  ItemUpdate,
  LoadedRun,
  RunQuery,
  RunRecord,
  RunSummary,
  StateStore,
  StoredItem,
  StoredRunState,
} from './state-store.js';
import { deriveRunStatus } from './derive.js';

interface MemoryRun {
  seq: number;
  record: RunRecord;
  state: StoredRunState;
  items: StoredItem[];
}

/** Keeps runs in process memory: the default for `flowrun run`; nothing survives the process. */
export class MemoryStateStore implements StateStore {
  private readonly runs = new Map<string, MemoryRun>();
  private readonly order: MemoryRun[] = [];

  async createRun(record: RunRecord, inputs: readonly unknown[]): Promise<void> {
    const items: StoredItem[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) items[i] = { itemIndex: i, status: 'pending', attempts: 0 };
    const run: MemoryRun = { seq: this.order.length, record, state: { status: 'running', cancelRequested: false }, items };
    this.runs.set(record.runId, run);
    this.order.push(run);
  }

  async recordItems(updates: readonly ItemUpdate[]): Promise<void> {
    for (const u of updates) {
      const item = this.runs.get(u.runId)?.items[u.itemIndex];
      if (!item) continue;
      item.status = u.status;
      item.attempts = u.attempts;
      if (u.status !== 'running') {
        item.result = u.result;
        item.completedAt = u.completedAt;
        item.completionSeq = u.completionSeq;
      }
    }
  }

  async markCancelled(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (run) run.state.cancelRequested = true;
  }

  async finishRun(runId: string, status: Status, completedAt: number): Promise<void> {
    const run = this.runs.get(runId);
    if (run) run.state = { ...run.state, status, completedAt };
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    const run = this.runs.get(runId);
    return run && { record: run.record, state: { ...run.state }, items: run.items.map((i) => ({ ...i })) };
  }

  async loadInputs(): Promise<unknown[]> {
    // Memory runs never outlive their process, so there is nothing to resume.
    return [];
  }

  async unfinishedRuns(): Promise<string[]> {
    return this.order.filter((r) => r.state.completedAt === undefined).map((r) => r.record.runId);
  }

  async listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    const statuses = query.statuses && new Set(query.statuses);
    let i = query.cursor === undefined ? this.order.length - 1 : Number.parseInt(query.cursor, 36) - 1;
    const runs: RunSummary[] = [];
    for (; i >= 0 && runs.length < query.limit; i--) {
      const { record, state, items } = this.order[i];
      if (query.flowId !== undefined && record.flowId !== query.flowId) continue;
      if (query.parentRunId !== undefined && record.parentRunId !== query.parentRunId) continue;
      if (query.createdAfter !== undefined && record.createdAt <= query.createdAfter) continue;
      if (query.createdBefore !== undefined && record.createdAt >= query.createdBefore) continue;
      const counts = countItems(items);
      const status = deriveRunStatus(state, counts);
      if (statuses && !statuses.has(status)) continue;
      runs.push({ record, state: { ...state, status }, counts });
    }
    return i >= 0 && runs.length === query.limit ? { runs, nextCursor: (i + 1).toString(36) } : { runs };
  }

  async close(): Promise<void> {}
}

function countItems(items: readonly StoredItem[]): ItemCountsRecord {
  const c: ItemCountsRecord = { total: items.length, pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 };
  for (const item of items) c[item.status as keyof Omit<ItemCountsRecord, 'total'>]++;
  return c;
}
