import type { FlowResult, Status } from '../../protocol/index.js';
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

/** Item statuses as stored, one byte per item. */
const STATUSES: readonly Status[] = ['pending', 'running', 'success', 'failed', 'cancelled'];
const CODE: Readonly<Record<Status, number>> = { pending: 0, running: 1, success: 2, failed: 3, cancelled: 4 };

/**
 * One run's items, column by column (a byte of status, the attempts, result, completion time and
 * completion position per item) with its counters kept as items change: a million items cost
 * about 21 bytes each plus their results, and listing a run does not count its items.
 */
class MemoryItems {
  readonly status: Uint8Array;
  readonly attempts: Uint32Array;
  readonly results: Array<FlowResult | undefined>;
  /** NaN until the item settles. */
  readonly completedAt: Float64Array;
  /** -1 until the item settles. */
  readonly completionSeq: Int32Array;
  readonly counts: ItemCountsRecord;

  constructor(n: number) {
    this.status = new Uint8Array(n);
    this.attempts = new Uint32Array(n);
    this.results = new Array(n);
    this.completedAt = new Float64Array(n).fill(NaN);
    this.completionSeq = new Int32Array(n).fill(-1);
    this.counts = { total: n, pending: n, running: 0, success: 0, failed: 0, cancelled: 0 };
  }

  apply(u: ItemUpdate): void {
    const i = u.itemIndex;
    if (!(i >= 0 && i < this.status.length)) return;
    this.counts[STATUSES[this.status[i]] as keyof Omit<ItemCountsRecord, 'total'>]--;
    this.counts[u.status as keyof Omit<ItemCountsRecord, 'total'>]++;
    this.status[i] = CODE[u.status];
    this.attempts[i] = u.attempts;
    // A `running` update (a resumed item) keeps what an earlier settle recorded.
    if (u.status !== 'running') {
      this.results[i] = u.result;
      this.completedAt[i] = u.completedAt;
      this.completionSeq[i] = u.completionSeq;
    }
  }

  item(i: number): StoredItem {
    const item: StoredItem = { itemIndex: i, status: STATUSES[this.status[i]], attempts: this.attempts[i] };
    if (this.completionSeq[i] >= 0) {
      item.result = this.results[i];
      item.completedAt = this.completedAt[i];
      item.completionSeq = this.completionSeq[i];
    }
    return item;
  }
}

interface MemoryRun {
  seq: number;
  record: RunRecord;
  state: StoredRunState;
  items: MemoryItems;
}

/** Keeps runs in process memory: the default for `flowrun run`; nothing survives the process. */
export class MemoryStateStore implements StateStore {
  private readonly runs = new Map<string, MemoryRun>();
  private readonly order: MemoryRun[] = [];

  async createRun(record: RunRecord, inputs: readonly unknown[]): Promise<void> {
    const run: MemoryRun = {
      seq: this.order.length,
      record,
      state: { status: 'running', cancelRequested: false },
      items: new MemoryItems(inputs.length),
    };
    this.runs.set(record.runId, run);
    this.order.push(run);
  }

  async recordItems(updates: readonly ItemUpdate[]): Promise<void> {
    // Batches are mostly one run's: look it up once per change of run.
    let runId: string | undefined;
    let run: MemoryRun | undefined;
    for (const u of updates) {
      if (u.runId !== runId) {
        runId = u.runId;
        run = this.runs.get(runId);
      }
      run?.items.apply(u);
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
    if (!run) return undefined;
    const items = new Array<StoredItem>(run.items.counts.total);
    for (let i = 0; i < items.length; i++) items[i] = run.items.item(i);
    return { record: run.record, state: { ...run.state }, items };
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
      const counts = { ...items.counts };
      const status = deriveRunStatus(state, counts);
      if (statuses && !statuses.has(status)) continue;
      runs.push({ record, state: { ...state, status }, counts });
    }
    return i >= 0 && runs.length === query.limit ? { runs, nextCursor: (i + 1).toString(36) } : { runs };
  }

  async close(): Promise<void> {}
}
