import type pg from 'pg';
import { MAX_TIMEOUT_MS, type Status } from '../../protocol/index.js';
import type { ClusterConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ChunkItemCounts, ChunkLease, ChunkWork, SharedRunProgress, SharedWork, SharedWorkListener } from '../runs/shared-work.js';
import { RUN_EVENTS_CHANNEL as EVENTS_CHANNEL } from '../statestore/postgres-event-log.js';
import type { PostgresStateStore } from '../statestore/postgres-state-store.js';
import type { RunRecord, StoredItem } from '../statestore/state-store.js';
import { ITEM_COLUMNS, RUN_COLUMNS, itemOfRow, recordOfRow, type ItemRow, type RunRow } from '../statestore/sql-rows.js';
import {
  CANCEL_CHANNEL, CANCEL_ITEMS, CANCEL_UNHELD_CHUNKS, CLAIM_CANDIDATES, CLAIM_SUCCESSOR, COMPLETE_CHUNKS, FINISHED_RUNS, GRANT_SLOTS, LOCK_RUN_FOR_SLOTS, LOCK_RUN_TREE,
  MARK_CANCEL_REQUESTED, RELEASE_LEASE, RELEASE_LEASES, RELEASE_SLOTS, RENEW_LEASES, REPORT_LOAD, RUNS_CHANNEL, RUN_SLOTS, STALE_CHILDREN, TAKE_CHUNKS, TRANSFER_SLOTS, WORK_CHANNEL,
} from './chunks-sql.js';
import type { HeldLease, LeaseBook } from './lease-book.js';
import { NotificationListener } from './notification-listener.js';
import { finishRunIfDone } from './run-finish.js';
import { RunProgressCounts } from './run-progress-counts.js';
import { SubmittedInputs } from './submitted-inputs.js';
import { prepared } from '../statestore/prepared-statement.js';

/** How often waits on runs of other nodes re-check the database, in case a notification was lost. */
const WAIT_RECHECK_MS = 1_000;
/** Run records kept by a node (see `recordOf`). */
const RECORDS_KEPT = 256;
/** Chunks of one run each live node runs at once (see `runBudget`). */
const CHUNKS_PER_NODE = 2;
/** Run ids per cancel notification (a payload holds at most 8000 bytes). */
const IDS_PER_NOTIFICATION = 100;

export interface PostgresSharedWorkOptions {
  store: PostgresStateStore;
  nodeId: string;
  book: LeaseBook;
  cluster: Pick<ClusterConfig, 'leaseMs' | 'heartbeatMs'>;
  logger: Logger;
}

type Candidate = { run_id: string; chunk_index: number; first_item: number; end_item: number };
type TakenRow = { run_id: string; chunk_index: number; chunk_size: number; first_item: number; end_item: number; epoch: number; slots: number };

/**
 * The work of a cluster shared through PostgreSQL (docs/cluster.md): claims under leases with
 * epochs, their renewal by heartbeat, fenced completion, cluster-wide cancel, and waits woken by
 * LISTEN/NOTIFY with a periodic re-check.
 */
export class PostgresSharedWork implements SharedWork {
  readonly nodeId: string;
  private listener: SharedWorkListener | undefined;
  private notifications: NotificationListener | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private renewing = false;
  /** Records of the runs whose chunks this node ran lately. */
  private readonly records = new Map<string, RunRecord>();
  /** Claims not yet committed or rolled back (see `tracked`). */
  private readonly claimsInFlight = new Set<Promise<void>>();
  private stopped = false;
  private nodeLoad = { chunks: 0, items: 0 };
  /** Callers waiting for runs to turn terminal, by run id. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Who hears that run events were appended (docs/events.md). */
  private readonly eventListeners: Array<() => void> = [];
  /** Cancel-requested runs already told to the listener, so a renewal does not tell them again. */
  private readonly toldCancelled = new Set<string>();
  private readonly progress: RunProgressCounts;
  /** Inputs of the runs submitted here, for chunks claimed for the first time. */
  private readonly submitted = new SubmittedInputs();

  constructor(private readonly options: PostgresSharedWorkOptions) {
    this.nodeId = options.nodeId;
    this.progress = new RunProgressCounts(options.store);
  }

  async start(listener: SharedWorkListener): Promise<void> {
    this.listener = listener;
    this.notifications = new NotificationListener({
      url: this.options.store.url,
      channels: [WORK_CHANNEL, RUNS_CHANNEL, CANCEL_CHANNEL, EVENTS_CHANNEL],
      onNotification: (channel, payload) => this.notified(channel, payload),
      onReconnect: () => {
        for (const wake of this.eventListeners) wake();
        listener.workAvailable();
        void this.recheckWaiters();
      },
      logger: this.options.logger,
    });
    await this.notifications.start();
    this.heartbeat = setInterval(() => void this.renew(), this.options.cluster.heartbeatMs);
    this.heartbeat.unref();
    this.recheck = setInterval(() => void this.recheckWaiters(), WAIT_RECHECK_MS);
    this.recheck.unref();
  }

  claim(maxChunks: number, maxSlots: number, skipRuns: readonly string[] = []): Promise<ChunkLease[]> {
    return this.tracked(() => this.claimChunks(maxChunks, maxSlots, skipRuns));
  }

  /**
   * Runs a claim, counted among those in flight: `stop` waits for them before it hands leases
   * back, so a claim committing during shutdown does not leave a chunk held until its lease ends.
   */
  private tracked<T>(claim: () => Promise<T>): Promise<T> {
    const done = claim();
    const settled = done.then(() => {}, () => {});
    this.claimsInFlight.add(settled);
    void settled.then(() => this.claimsInFlight.delete(settled));
    return done;
  }

  private async claimChunks(maxChunks: number, maxSlots: number, skipRuns: readonly string[]): Promise<ChunkLease[]> {
    if (this.stopped || maxChunks <= 0 || maxSlots <= 0) return [];
    const { store, nodeId, cluster, book } = this.options;
    const taken = await store.inTransaction(async (client) => {
      const candidates = await client.query<Candidate>(prepared(CLAIM_CANDIDATES), [maxChunks, skipRuns]);
      if (candidates.rows.length === 0) return [];
      const chosen = await this.allotSlots(client, candidates.rows, maxSlots);
      if (chosen.length === 0) return [];
      const { rows } = await client.query<TakenRow>(prepared(TAKE_CHUNKS), [
        nodeId,
        cluster.leaseMs,
        chosen.map((c) => c.runId),
        chosen.map((c) => c.chunkIndex),
        chosen.map((c) => c.slots),
      ]);
      return rows.map((row) => ({ row, cancelRequested: chosen.find((c) => c.runId === row.run_id)!.cancelRequested }));
    });
    return taken.map(({ row, cancelRequested }) => {
      const lease = leaseOfRow(row, cancelRequested);
      book.add(lease);
      return lease;
    });
  }

  /**
   * Gives each candidate the slots its run has left (its row locked, runs in the order of the
   * candidates: oldest first), at most `maxSlots` in all. A cancelled run's chunk needs none.
   */
  private async allotSlots(
    client: pg.ClientBase,
    candidates: readonly Candidate[],
    maxSlots: number,
  ): Promise<Array<{ runId: string; chunkIndex: number; slots: number; cancelRequested: boolean }>> {
    const chosen: Array<{ runId: string; chunkIndex: number; slots: number; cancelRequested: boolean }> = [];
    const budgets = new Map<string, { free: number; share: number; chunksLeft: number; cancelRequested: boolean }>();
    let left = maxSlots;
    for (const { run_id: runId, chunk_index: chunkIndex, first_item: first, end_item: end } of candidates) {
      let budget = budgets.get(runId);
      if (!budget) {
        budget = await this.runBudget(client, runId);
        if (!budget) continue;
        budgets.set(runId, budget);
      }
      if (budget.cancelRequested) {
        chosen.push({ runId, chunkIndex, slots: 0, cancelRequested: true });
        continue;
      }
      const slots = Math.min(budget.free, budget.share, left, end - first);
      if (slots <= 0 || budget.chunksLeft <= 0) continue;
      budget.chunksLeft--;
      budget.free -= slots;
      left -= slots;
      chosen.push({ runId, chunkIndex, slots, cancelRequested: false });
      if (left <= 0) break;
    }
    return chosen;
  }

  /**
   * A run's slots left, with its row locked, and a chunk's share of them: each live node runs
   * `CHUNKS_PER_NODE` chunks of a run at once, so the run is spread over the nodes and, on each,
   * one chunk keeps running while another changes hands; but no less than an even split over its
   * open chunks, so a run of one chunk runs `maxConcurrency` items at once.
   */
  private async runBudget(client: pg.ClientBase, runId: string): Promise<{ free: number; share: number; chunksLeft: number; cancelRequested: boolean } | undefined> {
    const run = await client.query<{ max_concurrency: number; cancel_requested: boolean }>(prepared(LOCK_RUN_FOR_SLOTS), [runId]);
    if (run.rows.length === 0) return undefined;
    const { max_concurrency: max, cancel_requested: cancelRequested } = run.rows[0];
    const { rows } = await client.query<{ used: number; nodes: number; open_chunks: number; mine: number }>(prepared(RUN_SLOTS), [runId, this.options.cluster.leaseMs, this.nodeId]);
    const { used, nodes, open_chunks: open, mine } = rows[0];
    // A run with few chunks left gives each a larger share: its last chunk may use all it has.
    const share = Math.max(Math.ceil(max / (CHUNKS_PER_NODE * Math.max(1, nodes))), Math.ceil(max / Math.max(1, open)));
    // A node takes at most its chunks' worth of a run while other nodes are alive: the rest is theirs.
    return { free: max - used, share, chunksLeft: nodes > 1 ? CHUNKS_PER_NODE - mine : Number.MAX_SAFE_INTEGER, cancelRequested };
  }

  claimSuccessor(runId: string, reserved: boolean): Promise<ChunkLease | undefined> {
    return this.tracked(() => this.claimNext(runId, reserved));
  }

  private async claimNext(runId: string, reserved: boolean): Promise<ChunkLease | undefined> {
    if (this.stopped) return undefined;
    const { store, nodeId, cluster, book } = this.options;
    const { rows } = await store.query<TakenRow & { cancel_requested: boolean; prefetched: boolean }>(prepared(CLAIM_SUCCESSOR), [runId, nodeId, cluster.leaseMs, reserved]);
    if (rows.length === 0) return undefined;
    const lease = { ...leaseOfRow(rows[0], rows[0].cancel_requested), prefetched: rows[0].prefetched };
    book.add(lease);
    return lease;
  }

  async transferSlots(from: ChunkLease, to: ChunkLease, slots: number): Promise<boolean> {
    const { rowCount } = await this.options.store.query(prepared(TRANSFER_SLOTS), [from.runId, this.nodeId, from.chunkIndex, from.epoch, to.chunkIndex, to.epoch, slots]);
    return rowCount === 2;
  }

  async acquireSlots(lease: ChunkLease): Promise<number> {
    return this.options.store.inTransaction(async (client) => {
      const budget = await this.runBudget(client, lease.runId);
      if (!budget || budget.cancelRequested || budget.chunksLeft <= 0) return 0;
      const slots = Math.min(budget.free, budget.share, lease.end - lease.first);
      if (slots <= 0) return 0;
      const { rowCount } = await client.query(prepared(GRANT_SLOTS), [lease.runId, lease.chunkIndex, this.nodeId, lease.epoch, slots]);
      return rowCount === 1 ? slots : 0;
    });
  }

  /** A run stored through this node: its chunks' first claims load without reading items back. */
  runCreated(runId: string, inputs: readonly unknown[]): void {
    this.submitted.remember(runId, inputs);
  }

  async load(lease: ChunkLease): Promise<ChunkWork> {
    const { store } = this.options;
    const record = await this.recordOf(lease.runId);
    // Never held before: its items are all pending, as the submit stored them.
    const inputs = lease.epoch === 1 ? this.submitted.slice(lease.runId, lease.first, lease.end) : undefined;
    if (inputs !== undefined) return { record, items: inputs.map((_, k) => pendingItem(lease.first + k)), inputs };
    const items = await store.query<ItemRow & { input: string }>(
      `SELECT ${ITEM_COLUMNS}, input FROM items WHERE run_id = $1 AND item_index >= $2 AND item_index < $3 ORDER BY item_index`,
      [lease.runId, lease.first, lease.end],
    );
    // Items that were running under an earlier holder run again: children of that attempt are stale.
    const rerun = items.rows.filter((r) => r.status === 'running').map((r) => r.item_index);
    if (rerun.length > 0) {
      const stale = await store.query<{ run_id: string }>(STALE_CHILDREN, [lease.runId, rerun]);
      for (const { run_id: child } of stale.rows) await this.cancel(child);
    }
    return {
      record,
      items: items.rows.map(itemOfRow),
      inputs: items.rows.map((r) => JSON.parse(r.input) as unknown),
    };
  }

  /** A run's record (it never changes once stored), read once per run while its chunks come and go. */
  private async recordOf(runId: string): Promise<RunRecord> {
    const cached = this.records.get(runId);
    if (cached) return cached;
    const run = await this.options.store.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    if (run.rows.length === 0) throw new Error(`run ${runId} of a claimed chunk is gone`);
    const record = recordOfRow(run.rows[0]);
    if (this.records.size >= RECORDS_KEPT) this.records.delete(this.records.keys().next().value!);
    this.records.set(runId, record);
    return record;
  }

  async complete(leases: readonly ChunkLease[], counts: ReadonlyArray<ChunkItemCounts | undefined> = []): Promise<boolean[]> {
    const { store, nodeId, book } = this.options;
    const finished: string[] = [];
    const done = await store.inTransaction(async (client) => {
      finished.length = 0;
      const { rows } = await client.query<{ run_id: string; chunk_index: number }>(prepared(COMPLETE_CHUNKS), [
        nodeId,
        leases.map((l) => l.runId),
        leases.map((l) => l.chunkIndex),
        leases.map((l) => l.epoch),
        leases.map((_, k) => counts[k]?.success ?? null),
        leases.map((_, k) => counts[k]?.failed ?? null),
        leases.map((_, k) => counts[k]?.cancelled ?? null),
      ]);
      const completed = new Set(rows.map((r) => `${r.chunk_index}:${r.run_id}`));
      // Runs one after another in a fixed order, so two nodes completing chunks of the same runs do not deadlock.
      for (const runId of [...new Set(rows.map((r) => r.run_id))].sort()) if (await finishRunIfDone(client, runId)) finished.push(runId);
      // Their slots are free again: other nodes may claim more of the runs.
      if (rows.length > 0) await client.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, '']);
      return leases.map((l) => completed.has(`${l.chunkIndex}:${l.runId}`));
    });
    for (const lease of leases) book.remove(lease);
    for (const runId of finished) this.submitted.forget(runId);
    if (finished.length > 0) this.listener?.runsFinished?.(finished);
    return done;
  }

  async release(lease: ChunkLease): Promise<void> {
    this.options.book.remove(lease);
    await this.options.store.query(prepared(RELEASE_LEASE), [lease.runId, lease.chunkIndex, this.nodeId, lease.epoch]);
  }

  async releaseSlots(lease: ChunkLease): Promise<void> {
    await this.options.store.query(prepared(RELEASE_SLOTS), [lease.runId, lease.chunkIndex, this.nodeId, lease.epoch]);
  }

  /** Leases a journal write found lost: told to the runner of the chunks. */
  leasesLost(leases: readonly ChunkLease[]): void {
    this.listener?.leasesLost(leases);
  }

  forget(lease: ChunkLease): void {
    this.options.book.remove(lease);
  }

  async cancel(runId: string): Promise<string[]> {
    const finishedByCancel: string[] = [];
    const cancelled = await this.options.store.inTransaction(async (client) => {
      const tree = await client.query<{ run_id: string; cancel_requested: boolean }>(LOCK_RUN_TREE, [runId]);
      const ids = tree.rows.map((r) => r.run_id);
      if (ids.length === 0) return [];
      await client.query(MARK_CANCEL_REQUESTED, [ids]);
      const freed = await client.query<{ run_id: string; first_item: number; end_item: number }>(CANCEL_UNHELD_CHUNKS, [ids]);
      if (freed.rows.length > 0) {
        await client.query(CANCEL_ITEMS, [freed.rows.map((r) => r.run_id), freed.rows.map((r) => r.first_item), freed.rows.map((r) => r.end_item)]);
      }
      finishedByCancel.length = 0;
      for (const id of ids) if (await finishRunIfDone(client, id)) finishedByCancel.push(id);
      for (let i = 0; i < ids.length; i += IDS_PER_NOTIFICATION) {
        await client.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, ids.slice(i, i + IDS_PER_NOTIFICATION).join(',')]);
      }
      return ids;
    });
    if (cancelled.length > 0) this.listener?.runsCancelled(cancelled);
    if (finishedByCancel.length > 0) this.listener?.runsFinished?.(finishedByCancel);
    return cancelled;
  }

  waitFinished(runId: string, timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const set = this.waiters.get(runId);
        set?.delete(done);
        if (set?.size === 0) this.waiters.delete(runId);
        resolve();
      };
      let set = this.waiters.get(runId);
      if (!set) this.waiters.set(runId, (set = new Set()));
      set.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.min(timeoutMs, MAX_TIMEOUT_MS));
      signal?.addEventListener('abort', done, { once: true });
      // Registered first, then checked: a finish between the two is seen by one of them.
      void this.finishedAmong([runId]).then((finished) => finished.length > 0 && done(), () => {});
    });
  }

  reportLoad(chunksHeld: number, itemsInFlight: number): void {
    this.nodeLoad = { chunks: chunksHeld, items: itemsInFlight };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearInterval(this.recheck);
    await Promise.all(this.claimsInFlight);
    const { store, nodeId, logger } = this.options;
    try {
      await store.inTransaction(async (client) => {
        const { rowCount } = await client.query(RELEASE_LEASES, [nodeId]);
        if ((rowCount ?? 0) > 0) await client.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, '']);
      });
    } catch (err) {
      // They expire after leaseMs instead.
      logger.warn({ err }, `cannot hand leases back: ${(err as Error).message}`);
    }
    await this.notifications?.close();
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done();
  }

  onEventsAppended(listener: () => void): void {
    this.eventListeners.push(listener);
  }

  runProgress(runId: string): Promise<SharedRunProgress | undefined> {
    return this.progress.read(runId);
  }

  private notified(channel: string, payload: string): void {
    if (channel === EVENTS_CHANNEL) for (const wake of this.eventListeners) wake();
    else if (channel === WORK_CHANNEL) this.listener?.workAvailable();
    else if (channel === RUNS_CHANNEL) this.wake(payload);
    else if (channel === CANCEL_CHANNEL) this.listener?.runsCancelled(payload.split(','));
  }

  private wake(runId: string): void {
    const set = this.waiters.get(runId);
    if (set) for (const done of [...set]) done();
  }

  private async finishedAmong(runIds: readonly string[]): Promise<string[]> {
    const { rows } = await this.options.store.query<{ run_id: string }>(prepared(FINISHED_RUNS), [runIds]);
    return rows.map((r) => r.run_id);
  }

  private async recheckWaiters(): Promise<void> {
    if (this.waiters.size === 0) return;
    try {
      for (const runId of await this.finishedAmong([...this.waiters.keys()])) this.wake(runId);
    } catch (err) {
      this.options.logger.warn({ err }, `cannot re-check waited runs: ${(err as Error).message}`);
    }
  }

  /** The heartbeat of leases: renews those still held, reports the others lost, and cancels held chunks of cancelled runs. */
  private async renew(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    const { store, nodeId, cluster, book, logger } = this.options;
    const before = book.all();
    try {
      const { rows } = await store.query<{ run_id: string; chunk_index: number; epoch: number; cancel_requested: boolean }>(prepared(RENEW_LEASES), [
        nodeId,
        cluster.leaseMs,
        before.map((l) => l.runId),
        before.map((l) => l.chunkIndex),
        before.map((l) => l.epoch),
      ]);
      const held = new Set(rows.map((r) => `${r.chunk_index}:${r.run_id}:${r.epoch}`));
      // Leases completed or claimed since the statement began are not judged by it.
      const lost = before.filter((l) => !held.has(`${l.chunkIndex}:${l.runId}:${l.epoch}`) && book.has(l));
      if (lost.length > 0) this.listener?.leasesLost(lost);
      const cancelled = [...new Set(rows.filter((r) => r.cancel_requested && !this.toldCancelled.has(r.run_id)).map((r) => r.run_id))];
      // Bounded: a run told twice only cancels what is already cancelled.
      if (this.toldCancelled.size > 10_000) this.toldCancelled.clear();
      for (const id of cancelled) this.toldCancelled.add(id);
      if (cancelled.length > 0) this.listener?.runsCancelled(cancelled);
      await store.query(prepared(REPORT_LOAD), [nodeId, this.nodeLoad.chunks, this.nodeLoad.items]);
    } catch (err) {
      logger.warn({ err }, `cannot renew leases: ${(err as Error).message}`);
    } finally {
      this.renewing = false;
    }
  }
}

function pendingItem(index: number): StoredItem {
  return { itemIndex: index, status: 'pending', attempts: 0 };
}

function leaseOfRow(row: TakenRow, cancelRequested: boolean): HeldLease {
  return {
    runId: row.run_id,
    chunkIndex: row.chunk_index,
    first: row.first_item,
    end: row.end_item,
    epoch: row.epoch,
    slots: row.slots,
    chunkSize: row.chunk_size,
    cancelRequested,
  };
}
