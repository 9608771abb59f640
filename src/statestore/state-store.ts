import type { CallbackTarget, FlowResult, Metadata, Overrides, RunDefaults, Status, StepTiming } from '../../protocol/index.js';
import type { FlowPage, FlowQuery } from './flow-listing.js';
import type { CallbackAttempt, CallbackClaim, CallbackDelivery, StoredCallbackState } from './callback-outbox.js';
import type { ItemTransitions } from './item-transitions.js';
import type { RunEventLog } from './run-event-log.js';
import type { RunStatusCounts } from './run-status-counts.js';

/**
 * Durable state of runs and items (issue: durability). The run manager keeps live runs in
 * memory and writes through to a StateStore: the run record before `runs/submit` answers, item
 * transitions in batches. After a restart, `unfinishedRuns` + `loadRun` + `loadInputs` let it
 * resume every run: finished items keep their results, the others run again.
 *
 * Counters are never stored: they are derived from item statuses (`countItems`), in one place
 * per backend.
 */
export interface StateStore {
  /**
   * Stores a new run and its inputs (one item per input, all pending). When `run.idempotencyKey`
   * is held by a stored run (a unique index decides, so concurrent creators agree), nothing is
   * created and that run's id is returned.
   */
  createRun(run: RunRecord, inputs: readonly unknown[]): Promise<string | undefined>;
  /**
   * The id of the run holding idempotency `key` if it was created after `createdAfter` (ms since
   * the epoch); a key held by an older run is released first, so a new run may take it.
   */
  runWithIdempotencyKey(key: string, createdAfter: number): Promise<string | undefined>;
  /** A page of a run's items with their details (`runs/items`); undefined for an unknown run. */
  listItems(runId: string, query: ItemQuery): Promise<ItemPage | undefined>;
  /** Every item's timings and the step records kept (`runs/metrics`); undefined for an unknown run. */
  itemTimings(runId: string): Promise<ItemTimings | undefined>;
  /**
   * Applies item transitions in order, atomically per call. The caller reuses `transitions` once
   * the returned promise settles: a store must not keep it.
   */
  recordItems(transitions: ItemTransitions): Promise<void>;
  /** Marks a run cancel-requested (survives a restart: its unfinished items end cancelled). */
  markCancelled(runId: string): Promise<void>;
  /** Records that a run turned terminal; its completion callback, if any, falls due in the same transaction. */
  finishRun(runId: string, status: Status, completedAt: number): Promise<void>;
  /** A run with every item's state, or undefined. */
  loadRun(runId: string): Promise<LoadedRun | undefined>;
  /**
   * A run's record and its item counts by status, derived as `listRuns` derives them, without
   * reading its items; undefined when there is no such run. Only where runs/get must read the
   * store for a run in memory elsewhere (a cluster's PostgreSQL).
   */
  runSummary?(runId: string): Promise<RunSummary | undefined>;
  /**
   * A run's record and stored state (its row only: no item is counted); undefined when there is no
   * such run. Where `runSummary` is, for a wait to learn cheaply whether the run is finished.
   */
  runHead?(runId: string): Promise<Pick<RunSummary, 'record' | 'state'> | undefined>;
  /** The inputs of a run, by item index (for resuming it); with `indices`, only those items' inputs, in that order. */
  loadInputs(runId: string, indices?: readonly number[]): Promise<unknown[]>;
  /** Ids of runs not yet terminal, oldest first. */
  unfinishedRuns(): Promise<string[]>;
  /** Runs newest first (by creation), with derived counters, filtered, after `cursor`. */
  listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }>;
  /** The flows stored runs ran, most recently used first, with their run counts (`flows/list`). */
  listFlows(query: FlowQuery): Promise<FlowPage>;
  /** Delivery state of the completion callbacks of these runs, by run id; runs without one are absent. */
  callbackStates(runIds: readonly string[]): Promise<Map<string, StoredCallbackState>>;
  /**
   * Claims due completion callbacks (their run finished, not delivered, next attempt due, no live
   * lease) for `claim.holder` until `claim.now + claim.leaseMs`, oldest due first: of several
   * processes on one store, only one delivers each at a time (docs/callbacks.md).
   */
  claimCallbacks(claim: CallbackClaim): Promise<CallbackDelivery[]>;
  /** Records one delivery attempt of a run's callback and releases its lease. */
  recordCallbackAttempt(runId: string, attempt: CallbackAttempt): Promise<void>;
  /**
   * Deletes a terminal run with its items, callback and child runs, recursively, in one
   * transaction (docs/retention.md); with `dryRun`, only says what that would delete. Refused
   * (nothing deleted) when the run or one of its children is not terminal.
   */
  deleteRun(runId: string, options?: { dryRun?: boolean }): Promise<DeleteRunOutcome>;
  /** Whether the run is stored (not deleted): what a cluster node checks before answering from its memory. */
  hasRun(runId: string): Promise<boolean>;
  /** Terminal runs finished before `completedBefore` (ms) and not children of a stored run, oldest first, at most `limit`. */
  expiredRuns(completedBefore: number, limit: number): Promise<string[]>;
  /** How many stored runs run each flow, by flow id (what retention must keep of the blob store). */
  flowUses(): Promise<Map<string, number>>;
  /**
   * Runs `work` unless another process sharing this store runs work under the same lock right now
   * (then `{ran: false}`): what one node of a cluster does at a time, like the retention sweep.
   * Stores of one process leave it out.
   */
  exclusively?<T>(lock: ExclusiveLock, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** How many runs have each status, derived as `listRuns` derives it (for `GET /metrics`). */
  countRunsByStatus(): Promise<RunStatusCounts>;
  /** Records that a blob was put or used in a namespace (docs/security.md); recording it again changes nothing. */
  addBlobNamespace(blobId: string, namespace: string): Promise<void>;
  /** Whether a blob was put or used in a namespace: a blob of other namespaces only answers as absent. */
  blobInNamespace(blobId: string, namespace: string): Promise<boolean>;
  /** Forgets the namespaces of blobs deleted from the blob store (the retention sweep, docs/retention.md). */
  deleteBlobNamespaces(blobIds: readonly string[]): Promise<void>;
  /** The run events kept for watchers that resume (docs/events.md). */
  readonly events: RunEventLog;
  close(): Promise<void>;
}

/** Work one process at a time does, of all those sharing a store. */
export type ExclusiveLock = 'retention';

/** What `deleteRun` did, or why it did nothing. */
export type DeleteRunOutcome =
  | {
      outcome: 'deleted';
      /** The run first, then its children, recursively. */
      runIds: string[];
      /** The flow id of each run deleted, in the order of `runIds`. */
      flowIds: string[];
      items: number;
    }
  | { outcome: 'notFound' }
  /** `runId` is the run, or the child of it, that is not terminal. */
  | { outcome: 'notTerminal'; runId: string; status: Status };

/** What a run is and how it was submitted; enough to resume it after a restart. */
export interface RunRecord {
  runId: string;
  flowId: string;
  flowName?: string;
  flowLabel?: string;
  parentRunId?: string;
  /** The item of the parent run that submitted this one: after a crash, an item that runs again has the children of its earlier attempt cancelled. */
  parentItemIndex?: number;
  /** ms since the epoch */
  createdAt: number;
  total: number;
  maxConcurrency: number;
  variables: Record<string, unknown>;
  overrides?: Overrides;
  /** The run this one reruns (`runs/rerun`). */
  rerunOf?: string;
  /** In a rerun: each item's index in the source run, by item index. */
  sourceIndices?: readonly number[];
  /** Timeout and transport retries of its component calls, under each step's own (docs/precedence.md). */
  defaults?: RunDefaults;
  /** Where the run's completion is POSTed; stored in the callback outbox, never shown. */
  callback?: CallbackTarget;
  /** At most one run created within the idempotency TTL holds a key (docs/protocol.md, "Idempotent submits"). */
  idempotencyKey?: string;
  metadata?: Metadata;
  /** Keep step records for every item, not only failed ones. */
  recordSteps?: boolean;
  /** The namespace the run belongs to (docs/security.md); absent: `default`. */
  namespace?: string;
  /** The name of the token that submitted it, when a token did. */
  submittedBy?: string;
}

/** Stored run status: `running` until terminal; `pending`/`running` are refined from item counts. */
export interface StoredRunState {
  status: Status;
  completedAt?: number;
  cancelRequested: boolean;
}

/**
 * One item transition, as an object (see ItemTransitions for how a batch carries them). `running`
 * records the attempt that starts and when; terminal ones the result, and when the item's last
 * attempt started (absent for an item that never started).
 */
export type ItemUpdate =
  | { runId: string; itemIndex: number; status: 'running'; attempts: number; startedAt?: number }
  | {
      runId: string;
      itemIndex: number;
      status: 'success' | 'failed' | 'cancelled';
      attempts: number;
      result?: FlowResult;
      completedAt: number;
      /** Position in the run's completion order (0-based), for byCompletion after a restart. */
      completionSeq: number;
      startedAt?: number;
      steps?: StepTiming[];
    };

export type { StepTiming };

/** An item as stored. */
export interface StoredItem {
  itemIndex: number;
  status: Status;
  attempts: number;
  result?: FlowResult;
  /** When its latest attempt started (ms since the epoch). */
  startedAt?: number;
  completedAt?: number;
  completionSeq?: number;
  /** In a rerun: the item's index in the source run. */
  sourceIndex?: number;
}

/** An item as `listItems` returns it. */
export interface StoredItemDetail extends StoredItem {
  input?: unknown;
  steps?: StepTiming[];
}

/** Which items `listItems` returns. */
export interface ItemQuery {
  statuses?: readonly Status[];
  offset: number;
  limit: number;
  /** byCompletion lists settled items only, in the order they settled. */
  order: 'byIndex' | 'byCompletion';
  includeInput: boolean;
  includeSteps: boolean;
}

export interface ItemPage {
  items: StoredItemDetail[];
  /** Set when more items match after this page. */
  nextOffset?: number;
}

/** Per item (by index): when its last attempt started and when it settled (NaN when not), and every step record kept. */
export interface ItemTimings {
  /** When the run was created (ms since the epoch). */
  createdAt: number;
  startedAt: Float64Array;
  completedAt: Float64Array;
  steps: StepTiming[];
}

export interface LoadedRun {
  record: RunRecord;
  state: StoredRunState;
  /** Every item, by index. */
  items: StoredItem[];
}

export interface ItemCountsRecord {
  total: number;
  pending: number;
  running: number;
  success: number;
  failed: number;
  cancelled: number;
}

export interface RunSummary {
  record: RunRecord;
  state: StoredRunState;
  counts: ItemCountsRecord;
  /** When its first item started (ms since the epoch). */
  startedAt?: number;
}

export interface RunQuery {
  /** Only runs of this namespace; undefined: every namespace. */
  namespace?: string;
  statuses?: readonly Status[];
  flowId?: string;
  flowName?: string;
  flowLabel?: string;
  /** Every key/value given must match. */
  metadata?: Metadata;
  parentRunId?: string;
  /** Runs without a parent only. */
  rootsOnly?: boolean;
  rerunOf?: string;
  /** `newest` (default) or `oldest` first; a cursor continues in the order it was issued for. */
  order?: 'newest' | 'oldest';
  /** ms since the epoch, exclusive */
  createdAfter?: number;
  /** ms since the epoch, exclusive */
  createdBefore?: number;
  /** Opaque, from a previous `nextCursor`. */
  cursor?: string;
  limit: number;
}
