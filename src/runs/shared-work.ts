import type { ItemCounts, Status } from '../../protocol/index.js';
import type { RunRecord, StoredItem } from '../statestore/state-store.js';

/** A done chunk's items by final status. */
export type ChunkItemCounts = Pick<ItemCounts, 'success' | 'failed' | 'cancelled'>;

/**
 * A chunk of a run's items held by this node (docs/cluster.md): items `[first, end)`, claimed at
 * `epoch`, run at most `slots` at a time. A lease is lost when another node claims the chunk (this
 * node paused past its lease) or the run's cancel took it back.
 */
export interface ChunkLease {
  readonly runId: string;
  readonly chunkIndex: number;
  readonly first: number;
  readonly end: number;
  readonly epoch: number;
  readonly slots: number;
  /** The run was cancel-requested when the chunk was claimed: its items end cancelled at once. */
  readonly cancelRequested: boolean;
  /** Claimed ahead as prefetched: until it starts, another node with slots to spare may take it over. */
  readonly prefetched?: boolean;
}

/** What a claimed chunk needs to run: its run's record and the chunk's items with their inputs. */
export interface ChunkWork {
  record: RunRecord;
  /** The chunk's items as stored, `first` first. */
  items: StoredItem[];
  inputs: unknown[];
}

/** Hears what other nodes (or this node's own leases) change about the work it holds. */
export interface SharedWorkListener {
  /** Chunks this node held and lost: their calls are to be cancelled and their transitions dropped. */
  leasesLost(leases: readonly ChunkLease[]): void;
  /** Runs cancelled (on any node): the chunks held of them end cancelled. */
  runsCancelled(runIds: readonly string[]): void;
  /** New work may be claimable (a run was submitted, a chunk handed back). */
  workAvailable(): void;
  /** Runs this node finished (their last chunk completed here, or a cancel here ended them), once committed. */
  runsFinished?(runIds: readonly string[]): void;
}

/** A run's counters and state as the database has them now (its `run.progress` on a cluster, docs/events.md). */
export interface SharedRunProgress {
  counts: ItemCounts;
  /** Set once the run is terminal. */
  completedAt?: number;
  status?: Status;
}

/**
 * The work a cluster shares through its database (implemented on PostgreSQL in `src/cluster/`):
 * chunks claimed under leases, fenced completion, cluster-wide waits and cancels. The run manager
 * uses it instead of executing the runs it stores by itself.
 */
export interface SharedWork {
  /** This node's id: the holder of its leases. */
  readonly nodeId: string;
  /** Starts hearing notifications and renewing leases; `listener` hears what changes. */
  start(listener: SharedWorkListener): Promise<void>;
  /**
   * Claims up to `maxChunks` chunks (ready, or whose lease expired) whose slots sum to at most
   * `maxSlots`, never giving a run more slots across the cluster than its maxConcurrency, and none
   * of the runs in `skipRuns` (this node cannot execute them now).
   */
  claim(maxChunks: number, maxSlots: number, skipRuns?: readonly string[]): Promise<ChunkLease[]>;
  /**
   * Claims the next claimable chunk of a run with no slots (to run once another chunk of the run
   * hands it its slots). Asked `reserved`, it is claimed so when every slot of the run is in use,
   * and no other node may take it over before it starts; else it is `prefetched`, and a node with
   * slots to spare for the run may.
   */
  claimSuccessor(runId: string, reserved: boolean): Promise<ChunkLease | undefined>;
  /** Moves `slots` from a chunk whose items settled to another chunk of the run held here; false when either lease is lost. */
  transferSlots(from: ChunkLease, to: ChunkLease, slots: number): Promise<boolean>;
  /** Gives a held chunk without slots what its run has left (at most its share); returns how many. */
  acquireSlots(lease: ChunkLease): Promise<number>;
  /** The run record, items and inputs of a claimed chunk; cancels child runs left by items that run again. */
  load(lease: ChunkLease): Promise<ChunkWork>;
  /**
   * Marks held chunks done once their items' transitions are written, in one transaction, with
   * their items' final counts where given (`counts[k]` for `leases[k]`); the last chunk of a run
   * finishes the run, once cluster-wide. Per lease: false when it was lost.
   */
  complete(leases: readonly ChunkLease[], counts?: ReadonlyArray<ChunkItemCounts | undefined>): Promise<boolean[]>;
  /**
   * Gives back a held chunk's slots once its items all settled, before its transitions are written
   * and it is completed: the run's concurrency is free for other chunks while the journal catches up.
   */
  releaseSlots(lease: ChunkLease): Promise<void>;
  /** Hands a lease back at once (this node gave up on the chunk); without the database, it expires after leaseMs. */
  release(lease: ChunkLease): Promise<void>;
  /** The lease is no longer held here: drop it from what the journal may write and what is renewed. */
  forget(lease: ChunkLease): void;
  /** Cancels a run and its descendants cluster-wide; returns the runs newly cancel-requested. */
  cancel(runId: string): Promise<string[]>;
  /** Resolves once the run is terminal in the database, `timeoutMs` passed or `signal` aborted. */
  waitFinished(runId: string, timeoutMs?: number, signal?: AbortSignal): Promise<void>;
  /** Reports this node's load for `flowrun nodes`. */
  reportLoad(chunksHeld: number, itemsInFlight: number): void;
  /** Hands every lease back at once (SIGTERM) and stops hearing notifications. */
  stop(): Promise<void>;
  /** Calls `listener` whenever any node appended run events (a hint: docs/events.md); re-checking is the listener's. */
  onEventsAppended?(listener: () => void): void;
  /** The run's counters from the database; undefined for an unknown run. */
  runProgress?(runId: string): Promise<SharedRunProgress | undefined>;
}
