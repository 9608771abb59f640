import { randomUUID } from 'node:crypto';
import type { CallbackTarget, FlowResult, Status } from '../../protocol/index.js';
import type { CallbackAttempt, CallbackClaim, CallbackDelivery, StoredCallbackState } from './callback-outbox.js';
import { ITEM_STATUS_BY_CODE } from './item-status.js';
import { RUNNING_CODE, type ItemTransitions } from './item-transitions.js';
import type {
  DeleteRunOutcome,
  ItemCountsRecord,
  ItemPage,
  ItemQuery,
  ItemTimings,
  LoadedRun,
  RunQuery,
  RunRecord,
  RunSummary,
  StateStore,
  StepTiming,
  StoredItem,
  StoredItemDetail,
  StoredRunState,
} from './state-store.js';
import { metadataMatches } from './metadata-filter.js';
import { decodeSeqCursor } from './seq-cursor.js';
import { flowPageOf, type FlowPage, type FlowQuery, type FlowUseRow } from './flow-listing.js';
import { deriveRunStatus } from './derive.js';
import { emptyRunStatusCounts, type RunStatusCounts } from './run-status-counts.js';
import { MemoryRunEventLog, type RunEventLog } from './run-event-log.js';

/** Item statuses as stored, one byte per item: the codes of item transitions. */
const STATUSES: readonly Status[] = ITEM_STATUS_BY_CODE;

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
  /** When the item's last attempt started; NaN until it starts. */
  readonly startedAt: Float64Array;
  /** Step records kept, by item. */
  readonly steps: Array<StepTiming[] | undefined>;
  /** When the first item started; Infinity until one does. */
  firstStartedAt = Infinity;
  /** Items per status code. */
  private readonly countByCode: Int32Array;

  constructor(n: number) {
    this.status = new Uint8Array(n);
    this.attempts = new Uint32Array(n);
    this.results = new Array(n);
    this.completedAt = new Float64Array(n).fill(NaN);
    this.completionSeq = new Int32Array(n).fill(-1);
    this.startedAt = new Float64Array(n).fill(NaN);
    this.steps = new Array(n);
    this.countByCode = new Int32Array(STATUSES.length);
    this.countByCode[0] = n;
  }

  get total(): number {
    return this.status.length;
  }

  counts(): ItemCountsRecord {
    const c = this.countByCode;
    return { total: this.status.length, pending: c[0], running: c[1], success: c[2], failed: c[3], cancelled: c[4] };
  }

  /** Transition `k` of a batch. */
  apply(t: ItemTransitions, k: number): void {
    const i = t.indices[k];
    if (!(i >= 0 && i < this.status.length)) return;
    const code = t.statuses[k];
    this.countByCode[this.status[i]]--;
    this.countByCode[code]++;
    this.status[i] = code;
    this.attempts[i] = t.attempts[k];
    const startedAt = t.startedAt[k];
    if (!Number.isNaN(startedAt)) {
      this.startedAt[i] = startedAt;
      if (startedAt < this.firstStartedAt) this.firstStartedAt = startedAt;
    }
    // A `running` transition (a resumed item) keeps what an earlier settle recorded.
    if (code !== RUNNING_CODE) {
      this.results[i] = t.results[k];
      this.completedAt[i] = t.completedAt[k];
      this.completionSeq[i] = t.completionSeqs[k];
      this.steps[i] = t.steps[k];
    }
  }

  item(i: number): StoredItem {
    const item: StoredItem = { itemIndex: i, status: STATUSES[this.status[i]], attempts: this.attempts[i] };
    if (!Number.isNaN(this.startedAt[i])) item.startedAt = this.startedAt[i];
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
  /** The inputs as given (the caller does not change them): what a rerun runs again. */
  inputs: readonly unknown[];
}

/** A row of the callback outbox (docs/callbacks.md). */
interface MemoryCallback {
  runId: string;
  target: CallbackTarget;
  deliveryId: string;
  state: StoredCallbackState;
  dueSince?: number;
  nextAttemptAt?: number;
  leaseUntil: number;
}

/** Keeps runs in process memory: the default for `flowrun run`; nothing survives the process. */
export class MemoryStateStore implements StateStore {
  readonly events: RunEventLog = new MemoryRunEventLog();
  private readonly runs = new Map<string, MemoryRun>();
  /** Runs by creation; a deleted run leaves a hole, so list cursors (positions) stay valid. */
  private readonly order: Array<MemoryRun | undefined> = [];
  private readonly callbacks = new Map<string, MemoryCallback>();
  /** `namespace \n blobId` of every blob put or used in a namespace. */
  private readonly blobNamespaces = new Set<string>();
  /** Run ids by idempotency key. */
  private readonly keys = new Map<string, string>();

  async createRun(record: RunRecord, inputs: readonly unknown[]): Promise<string | undefined> {
    const key = record.idempotencyKey;
    if (key !== undefined) {
      const holder = this.keys.get(key);
      if (holder !== undefined) return holder;
      this.keys.set(key, record.runId);
    }
    const run: MemoryRun = {
      seq: this.order.length,
      record,
      state: { status: 'running', cancelRequested: false },
      items: new MemoryItems(inputs.length),
      inputs,
    };
    this.runs.set(record.runId, run);
    this.order.push(run);
    if (record.callback) {
      const { runId, callback } = record;
      this.callbacks.set(runId, { runId, target: callback, deliveryId: randomUUID(), state: { url: callback.url, attempts: 0 }, leaseUntil: 0 });
    }
    return undefined;
  }

  async runWithIdempotencyKey(key: string, createdAfter: number): Promise<string | undefined> {
    const holder = this.keys.get(key);
    if (holder === undefined) return undefined;
    const run = this.runs.get(holder)!;
    if (run.record.createdAt > createdAfter) return holder;
    this.keys.delete(key);
    run.record = { ...run.record };
    delete run.record.idempotencyKey;
    return undefined;
  }

  async listItems(runId: string, query: ItemQuery): Promise<ItemPage | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const { items } = run;
    const statuses = query.statuses && new Set(query.statuses);
    let indices = Array.from({ length: items.total }, (_, i) => i);
    if (query.order === 'byCompletion') indices = indices.filter((i) => items.completionSeq[i] >= 0).sort((a, b) => items.completionSeq[a] - items.completionSeq[b]);
    if (statuses) indices = indices.filter((i) => statuses.has(STATUSES[items.status[i]]));
    const page = indices.slice(query.offset, query.offset + query.limit).map((i) => {
      const item: StoredItemDetail = items.item(i);
      if (query.includeInput) item.input = run.inputs[i];
      if (query.includeSteps && items.steps[i] !== undefined) item.steps = items.steps[i];
      return item;
    });
    const end = query.offset + page.length;
    return end < indices.length ? { items: page, nextOffset: end } : { items: page };
  }

  async itemTimings(runId: string): Promise<ItemTimings | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const { items } = run;
    const completedAt = new Float64Array(items.total).fill(NaN);
    for (let i = 0; i < items.total; i++) if (items.completionSeq[i] >= 0) completedAt[i] = items.completedAt[i];
    return { createdAt: run.record.createdAt, startedAt: items.startedAt.slice(), completedAt, steps: items.steps.flatMap((s) => s ?? []) };
  }

  async recordItems(transitions: ItemTransitions): Promise<void> {
    // Batches are mostly one run's: look it up once per change of run.
    const runIds = transitions.runIds;
    let runId: string | undefined;
    let run: MemoryRun | undefined;
    for (let k = 0; k < transitions.length; k++) {
      if (runIds[k] !== runId) {
        runId = runIds[k];
        run = this.runs.get(runId);
      }
      run?.items.apply(transitions, k);
    }
  }

  async markCancelled(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (run) run.state.cancelRequested = true;
  }

  async finishRun(runId: string, status: Status, completedAt: number): Promise<void> {
    const run = this.runs.get(runId);
    if (run) run.state = { ...run.state, status, completedAt };
    const callback = this.callbacks.get(runId);
    if (callback && callback.dueSince === undefined) callback.dueSince = callback.nextAttemptAt = completedAt;
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const items = new Array<StoredItem>(run.items.total);
    const sources = run.record.sourceIndices;
    for (let i = 0; i < items.length; i++) {
      items[i] = run.items.item(i);
      if (sources) items[i].sourceIndex = sources[i];
    }
    return { record: run.record, state: { ...run.state }, items };
  }

  async loadInputs(runId: string, indices?: readonly number[]): Promise<unknown[]> {
    const inputs = this.runs.get(runId)?.inputs ?? [];
    return indices === undefined ? [...inputs] : indices.filter((i) => i >= 0 && i < inputs.length).map((i) => inputs[i]);
  }

  async callbackStates(runIds: readonly string[]): Promise<Map<string, StoredCallbackState>> {
    const states = new Map<string, StoredCallbackState>();
    for (const runId of runIds) {
      const callback = this.callbacks.get(runId);
      if (callback) states.set(runId, { ...callback.state });
    }
    return states;
  }

  async claimCallbacks(claim: CallbackClaim): Promise<CallbackDelivery[]> {
    const due = [...this.callbacks.values()]
      .filter((c) => c.nextAttemptAt !== undefined && c.nextAttemptAt <= claim.now && c.leaseUntil <= claim.now)
      .sort((a, b) => a.nextAttemptAt! - b.nextAttemptAt!)
      .slice(0, claim.limit);
    return due.map((c) => {
      c.leaseUntil = claim.now + claim.leaseMs;
      return { runId: c.runId, deliveryId: c.deliveryId, target: c.target, attempts: c.state.attempts, dueSince: c.dueSince! };
    });
  }

  async recordCallbackAttempt(runId: string, attempt: CallbackAttempt): Promise<void> {
    const callback = this.callbacks.get(runId);
    if (!callback || callback.state.deliveredAt !== undefined) return;
    const state: StoredCallbackState = { url: callback.state.url, attempts: callback.state.attempts + 1, lastAttemptAt: attempt.at };
    if (attempt.statusCode !== undefined) state.statusCode = attempt.statusCode;
    if (attempt.error !== undefined) state.error = attempt.error;
    if (attempt.delivered) state.deliveredAt = attempt.at;
    callback.state = state;
    callback.nextAttemptAt = attempt.delivered ? undefined : attempt.nextAttemptAt;
    callback.leaseUntil = 0;
  }

  async unfinishedRuns(): Promise<string[]> {
    return this.order.filter((r) => r !== undefined && r.state.completedAt === undefined).map((r) => r!.record.runId);
  }

  async listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    const statuses = query.statuses && new Set(query.statuses);
    // A cursor is one more than the position of the next run to look at; `step` walks newest or oldest first.
    const step = query.order === 'oldest' ? 1 : -1;
    const cursor = query.cursor === undefined ? undefined : Number.parseInt(query.cursor, 36) - 1;
    let i = cursor ?? (step < 0 ? this.order.length - 1 : 0);
    const runs: RunSummary[] = [];
    for (; i >= 0 && i < this.order.length && runs.length < query.limit; i += step) {
      const run = this.order[i];
      if (run === undefined) continue;
      const { record, state, items } = run;
      if (!matches(record, query)) continue;
      const counts = items.counts();
      const status = deriveRunStatus(state, counts);
      if (statuses && !statuses.has(status)) continue;
      const summary: RunSummary = { record, state: { ...state, status }, counts };
      if (items.firstStartedAt !== Infinity) summary.startedAt = items.firstStartedAt;
      runs.push(summary);
    }
    const more = i >= 0 && i < this.order.length;
    return more && runs.length === query.limit ? { runs, nextCursor: (i + 1).toString(36) } : { runs };
  }

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const beforeSeq = query.cursor === undefined ? this.order.length : decodeSeqCursor(query.cursor);
    if (beforeSeq === null) return { flows: [] };
    // Newest first: a flow's first run met is its most recent one.
    const byFlow = new Map<string, FlowUseRow>();
    for (let seq = this.order.length - 1; seq >= 0; seq--) {
      const run = this.order[seq];
      if (run === undefined || (query.namespace !== undefined && (run.record.namespace ?? 'default') !== query.namespace)) continue;
      const row = byFlow.get(run.record.flowId);
      if (row !== undefined) row.runs = Number(row.runs) + 1;
      else byFlow.set(run.record.flowId, { flow_id: run.record.flowId, flow_name: run.record.flowName ?? null, created_at: run.record.createdAt, runs: 1, last_seq: seq });
    }
    const rows = [...byFlow.values()].filter((row) => Number(row.last_seq) < beforeSeq);
    return flowPageOf(rows.slice(0, query.limit + 1), query.limit);
  }

  async close(): Promise<void> {}

  async addBlobNamespace(blobId: string, namespace: string): Promise<void> {
    this.blobNamespaces.add(`${namespace}\n${blobId}`);
  }

  async blobInNamespace(blobId: string, namespace: string): Promise<boolean> {
    return this.blobNamespaces.has(`${namespace}\n${blobId}`);
  }

  async deleteBlobNamespaces(blobIds: readonly string[]): Promise<void> {
    const deleted = new Set(blobIds);
    for (const key of this.blobNamespaces) if (deleted.has(key.slice(key.indexOf('\n') + 1))) this.blobNamespaces.delete(key);
  }

  async countRunsByStatus(): Promise<RunStatusCounts> {
    const counts = emptyRunStatusCounts();
    for (const run of this.order) if (run) counts[deriveRunStatus(run.state, run.items.counts())]++;
    return counts;
  }

  async deleteRun(runId: string, options: { dryRun?: boolean } = {}): Promise<DeleteRunOutcome> {
    const root = this.runs.get(runId);
    if (!root) return { outcome: 'notFound' };
    const tree = this.treeOf(root);
    const unfinished = tree.find((run) => run.state.completedAt === undefined);
    if (unfinished) {
      return { outcome: 'notTerminal', runId: unfinished.record.runId, status: deriveRunStatus(unfinished.state, unfinished.items.counts()) };
    }
    if (!options.dryRun) {
      for (const run of tree) {
        this.runs.delete(run.record.runId);
        this.callbacks.delete(run.record.runId);
        this.order[run.seq] = undefined;
      }
    }
    const runIds = tree.map((run) => run.record.runId);
    const flowIds = tree.map((run) => run.record.flowId);
    return { outcome: 'deleted', runIds, flowIds, items: tree.reduce((n, run) => n + run.items.total, 0) };
  }

  async hasRun(runId: string): Promise<boolean> {
    return this.runs.has(runId);
  }

  async expiredRuns(completedBefore: number, limit: number): Promise<string[]> {
    return this.order
      .filter((run): run is MemoryRun => run?.state.completedAt !== undefined && run.state.completedAt < completedBefore)
      .filter((run) => run.record.parentRunId === undefined || !this.runs.has(run.record.parentRunId))
      .sort((a, b) => a.state.completedAt! - b.state.completedAt!)
      .slice(0, limit)
      .map((run) => run.record.runId);
  }

  async flowUses(): Promise<Map<string, number>> {
    const uses = new Map<string, number>();
    for (const { record } of this.runs.values()) uses.set(record.flowId, (uses.get(record.flowId) ?? 0) + 1);
    return uses;
  }

  /** A run and its children, recursively: the run first. */
  private treeOf(root: MemoryRun): MemoryRun[] {
    const children = new Map<string, MemoryRun[]>();
    for (const run of this.runs.values()) {
      const parent = run.record.parentRunId;
      if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), run]);
    }
    const tree = [root];
    for (let k = 0; k < tree.length; k++) tree.push(...(children.get(tree[k].record.runId) ?? []));
    return tree;
  }
}

/** Whether a run passes the filters of a query other than status. */
function matches(record: RunRecord, query: RunQuery): boolean {
  if (query.namespace !== undefined && (record.namespace ?? 'default') !== query.namespace) return false;
  if (query.flowId !== undefined && record.flowId !== query.flowId) return false;
  if (query.flowName !== undefined && record.flowName !== query.flowName) return false;
  if (query.flowLabel !== undefined && record.flowLabel !== query.flowLabel) return false;
  if (query.parentRunId !== undefined && record.parentRunId !== query.parentRunId) return false;
  if (query.rootsOnly && record.parentRunId !== undefined) return false;
  if (query.rerunOf !== undefined && record.rerunOf !== query.rerunOf) return false;
  if (query.createdAfter !== undefined && record.createdAt <= query.createdAfter) return false;
  if (query.createdBefore !== undefined && record.createdAt >= query.createdBefore) return false;
  return query.metadata === undefined || metadataMatches(record.metadata, query.metadata);
}
