import { appendEventIn } from '../statestore/postgres-event-log.js';
import { runStatusOf } from '../runs/run-status.js';
import { namespaceOf } from '../runs/run-access.js';
import type { Status } from '../../protocol/index.js';
import type { ItemTransitions } from '../statestore/item-transitions.js';
import { CALLBACK_DUE, insertRun, type PostgresStateStore } from '../statestore/postgres-state-store.js';
import type { CallbackAttempt, CallbackClaim, CallbackDelivery, StoredCallbackState } from '../statestore/callback-outbox.js';
import type { DeleteRunOutcome, ExclusiveLock, ItemPage, ItemQuery, ItemTimings, LoadedRun, RunQuery, RunRecord, RunSummary, StateStore } from '../statestore/state-store.js';
import type { RunStatusCounts } from '../statestore/run-status-counts.js';
import type { FlowPage, FlowQuery } from '../statestore/flow-listing.js';
import { FINISH_EMPTY_RUN, INSERT_CHUNKS, WORK_CHANNEL } from './chunks-sql.js';
import { writeFenced } from './fenced-journal.js';
import type { HeldLease, LeaseBook } from './lease-book.js';
import type { RunEventLog } from '../statestore/run-event-log.js';

export interface ClusterStateStoreOptions {
  store: PostgresStateStore;
  nodeId: string;
  book: LeaseBook;
  chunkSize: number;
  /** Hears leases a journal write found lost. */
  onLeasesLost: (leases: HeldLease[]) => void;
  /** Cancels a run cluster-wide (the journal's cancel). */
  cancel: (runId: string) => Promise<unknown>;
  /** Hears a run stored through this node, with its inputs. */
  onRunCreated?: (runId: string, inputs: readonly unknown[]) => void;
}

/**
 * The state store of a cluster node (docs/cluster.md): PostgreSQL as for one process, except that
 * a new run is stored with its chunks (any node may claim them), item transitions are written only
 * for chunks this node still holds (fenced by epoch), and runs are finished by the completion of
 * their last chunk, not by a node's own view of them.
 */
export class ClusterStateStore implements StateStore {
  constructor(private readonly options: ClusterStateStoreOptions) {}

  get events(): RunEventLog {
    return this.options.store.events;
  }

  async createRun(run: RunRecord, inputs: readonly unknown[]): Promise<string | undefined> {
    const { store, chunkSize } = this.options;
    let holder: string | undefined;
    await store.writeInOrder(async (client) => {
      // A submit of a key another node's run holds creates nothing, chunks included.
      holder = await insertRun(client, run, inputs);
      if (holder !== undefined) return;
      // Its `run.created` commits with it: no node's `run.started` of it can come first (docs/events.md).
      const pending = { total: run.total, pending: run.total, running: 0, success: 0, failed: 0, cancelled: 0 };
      const created = runStatusOf(run, 'pending', pending, undefined, undefined);
      await appendEventIn(client, { type: 'run.created', runId: run.runId, namespace: namespaceOf(run), at: run.createdAt, run: created });
      if (inputs.length === 0) {
        await client.query(FINISH_EMPTY_RUN, [run.runId]);
        await client.query(CALLBACK_DUE, [run.runId, run.createdAt]);
        return;
      }
      await client.query(INSERT_CHUNKS, [run.runId, chunkSize, inputs.length]);
      await client.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, run.runId]);
    });
    if (holder === undefined && inputs.length > 0) this.options.onRunCreated?.(run.runId, inputs);
    return holder;
  }

  runWithIdempotencyKey(key: string, createdAfter: number): Promise<string | undefined> {
    return this.options.store.runWithIdempotencyKey(key, createdAfter);
  }

  listItems(runId: string, query: ItemQuery): Promise<ItemPage | undefined> {
    return this.options.store.listItems(runId, query);
  }

  itemTimings(runId: string): Promise<ItemTimings | undefined> {
    return this.options.store.itemTimings(runId);
  }

  async recordItems(transitions: ItemTransitions): Promise<void> {
    const { store, nodeId, book } = this.options;
    let lost: HeldLease[] = [];
    await store.statementsInOrder(async (client) => {
      lost = await writeFenced(client, nodeId, book, transitions);
    });
    if (lost.length > 0) this.options.onLeasesLost(lost);
  }

  async markCancelled(runId: string): Promise<void> {
    await this.options.cancel(runId);
  }

  /** A cluster run finishes when its last chunk completes (`run-finish.ts`), not when one node saw all of its items. */
  finishRun(_runId: string, _status: Status, _completedAt: number): Promise<void> {
    return Promise.resolve();
  }

  loadRun(runId: string): Promise<LoadedRun | undefined> {
    return this.options.store.loadRun(runId);
  }

  runSummary(runId: string): Promise<RunSummary | undefined> {
    return this.options.store.runSummary(runId);
  }

  runHead(runId: string): Promise<Pick<RunSummary, 'record' | 'state'> | undefined> {
    return this.options.store.runHead(runId);
  }

  loadInputs(runId: string, indices?: readonly number[]): Promise<unknown[]> {
    return this.options.store.loadInputs(runId, indices);
  }

  callbackStates(runIds: readonly string[]): Promise<Map<string, StoredCallbackState>> {
    return this.options.store.callbackStates(runIds);
  }

  /** Claimed with SKIP LOCKED and a lease: one node at a time delivers each callback. */
  claimCallbacks(claim: CallbackClaim): Promise<CallbackDelivery[]> {
    return this.options.store.claimCallbacks(claim);
  }

  recordCallbackAttempt(runId: string, attempt: CallbackAttempt): Promise<void> {
    return this.options.store.recordCallbackAttempt(runId, attempt);
  }

  /** Nothing to resume: the chunks of unfinished runs are claimed by the nodes. */
  unfinishedRuns(): Promise<string[]> {
    return Promise.resolve([]);
  }

  listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    return this.options.store.listRuns(query);
  }

  /** With its chunks' rows (docs/retention.md). */
  deleteRun(runId: string, options?: { dryRun?: boolean }): Promise<DeleteRunOutcome> {
    return this.options.store.deleteRun(runId, options);
  }

  hasRun(runId: string): Promise<boolean> {
    return this.options.store.hasRun(runId);
  }

  expiredRuns(completedBefore: number, limit: number): Promise<string[]> {
    return this.options.store.expiredRuns(completedBefore, limit);
  }

  flowUses(): Promise<Map<string, number>> {
    return this.options.store.flowUses();
  }

  listFlows(query: FlowQuery): Promise<FlowPage> {
    return this.options.store.listFlows(query);
  }

  /** One node of the cluster at a time (a PostgreSQL advisory lock). */
  exclusively<T>(lock: ExclusiveLock, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    return this.options.store.exclusively(lock, work);
  }

  countRunsByStatus(): Promise<RunStatusCounts> {
    return this.options.store.countRunsByStatus();
  }

  addBlobNamespace(blobId: string, namespace: string): Promise<void> {
    return this.options.store.addBlobNamespace(blobId, namespace);
  }

  blobInNamespace(blobId: string, namespace: string): Promise<boolean> {
    return this.options.store.blobInNamespace(blobId, namespace);
  }

  deleteBlobNamespaces(blobIds: readonly string[]): Promise<void> {
    return this.options.store.deleteBlobNamespaces(blobIds);
  }

  close(): Promise<void> {
    return this.options.store.close();
  }
}
