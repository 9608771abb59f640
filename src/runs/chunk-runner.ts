import { ErrorCodes, RpcError, type FlowResult, type Overrides } from '../../protocol/index.js';
import type { CompiledFlow } from '../flow/compile.js';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from '../statestore/store-unavailable.js';
import { RunState, type RunStateJournal } from './run-state.js';
import { IndexRange, workersFor, type RunScheduler } from './run-scheduler.js';
import type { ChunkLease, SharedWork, SharedWorkListener } from './shared-work.js';
import type { StoreWriter } from './store-writer.js';

/** Items this node runs at once at most, over every chunk it holds (docs/cluster.md). */
export const NODE_SLOTS = 1024;
/** Chunks a node holds at most. */
export const MAX_CHUNKS_HELD = 8;
/** How often an idle node looks for chunks (released by others, or whose lease expired). */
const CLAIM_EVERY_MS = 250;

export interface ChunkRunnerOptions {
  shared: SharedWork;
  scheduler: RunScheduler;
  writer: StoreWriter;
  /** The compiled flow of a stored run, with its overrides applied. */
  compile: (flowId: string, overrides: Overrides | undefined) => Promise<CompiledFlow>;
  logger: Logger;
  now: () => number;
}

/** A chunk held by this node while it runs. */
class HeldChunk {
  readonly abort = new AbortController();
  state: RunState | undefined;
  /** Another node holds it now, or this node stopped: nothing of it is completed here. */
  dropped = false;
  cancelRequested: boolean;

  constructor(readonly lease: ChunkLease) {
    this.cancelRequested = lease.cancelRequested;
  }

  get key(): string {
    return chunkKey(this.lease.runId, this.lease.chunkIndex);
  }
}

function chunkKey(runId: string, chunkIndex: number): string {
  return `${chunkIndex}:${runId}`;
}

/**
 * A cluster node's share of the work (docs/cluster.md): it claims chunks of runs from the shared
 * database while it has room, executes each chunk's items with the run scheduler (the chunk's
 * `slots` at a time, journaled through the store writer, whose writes the database fences by the
 * chunk's epoch), and completes the chunk once its transitions are written. A lost lease or a
 * cancel from any node reaches it through the `SharedWorkListener` calls.
 */
export class ChunkRunner implements SharedWorkListener {
  private readonly held = new Map<string, HeldChunk>();
  private claiming = false;
  private claimAgain = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ChunkRunnerOptions) {}

  async start(): Promise<void> {
    await this.options.shared.start(this);
    this.timer = setInterval(() => this.claimSoon(), CLAIM_EVERY_MS);
    this.timer.unref();
    this.claimSoon();
  }

  /** Items running on this node now, over every chunk held. */
  get itemsInFlight(): number {
    let n = 0;
    for (const chunk of this.held.values()) n += chunk.state?.counts.running ?? 0;
    return n;
  }

  get chunksHeld(): number {
    return this.held.size;
  }

  workAvailable(): void {
    this.claimSoon();
  }

  leasesLost(leases: readonly ChunkLease[]): void {
    for (const lease of leases) {
      const chunk = this.held.get(chunkKey(lease.runId, lease.chunkIndex));
      if (!chunk || chunk.lease.epoch !== lease.epoch || chunk.dropped) continue;
      this.options.logger.error(
        { code: ErrorCodes.Conflict, runId: lease.runId, chunkIndex: lease.chunkIndex, epoch: lease.epoch },
        `-32013 lease lost: chunk ${lease.chunkIndex} of run ${lease.runId} (epoch ${lease.epoch}) is held by another node; its calls are cancelled and its results dropped`,
      );
      this.drop(chunk);
    }
  }

  runsCancelled(runIds: readonly string[]): void {
    const ids = new Set(runIds);
    for (const chunk of this.held.values()) {
      if (!ids.has(chunk.lease.runId) || chunk.dropped) continue;
      chunk.cancelRequested = true;
      chunk.state?.cancelPending(this.options.now());
      chunk.abort.abort();
    }
  }

  /** Stops claiming and abandons every chunk held (their leases are handed back by `SharedWork.stop`). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const chunk of this.held.values()) this.drop(chunk);
  }

  /** Claims while this node has room; one claim loop at a time, run again when asked meanwhile. */
  private claimSoon(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimWhileRoom().finally(() => {
      this.claiming = false;
      this.options.shared.reportLoad(this.chunksHeld, this.itemsInFlight);
    });
  }

  private async claimWhileRoom(): Promise<void> {
    do {
      this.claimAgain = false;
      let slots = 0;
      for (const chunk of this.held.values()) slots += chunk.lease.slots;
      if (this.held.size >= MAX_CHUNKS_HELD || slots >= NODE_SLOTS) return;
      let leases: ChunkLease[];
      try {
        leases = await this.options.shared.claim(MAX_CHUNKS_HELD - this.held.size, NODE_SLOTS - slots);
      } catch (err) {
        this.options.logger.warn({ err }, `cannot claim chunks: ${(err as Error).message}`);
        return;
      }
      if (this.stopped) {
        // Claimed while stopping: hand them back with the rest.
        return;
      }
      for (const lease of leases) this.begin(lease);
      // A full claim may leave more to take.
      if (leases.length > 0) this.claimAgain = true;
    } while (this.claimAgain && !this.stopped);
  }

  private begin(lease: ChunkLease): void {
    const chunk = new HeldChunk(lease);
    this.held.set(chunk.key, chunk);
    void this.execute(chunk)
      .catch((err: unknown) => {
        this.options.logger.error({ err, runId: lease.runId, chunkIndex: lease.chunkIndex }, `chunk ${lease.chunkIndex} of run ${lease.runId} failed to run: ${(err as Error).message}`);
        this.drop(chunk);
      })
      .finally(() => {
        if (this.held.get(chunk.key) === chunk) this.held.delete(chunk.key);
        this.options.shared.forget(lease);
        this.claimSoon();
      });
  }

  /** Loads, executes and completes one chunk; returns early when it is dropped. */
  private async execute(chunk: HeldChunk): Promise<void> {
    const { lease } = chunk;
    const { shared, scheduler, now } = this.options;
    const work = await shared.load(lease);
    if (chunk.dropped) return;
    const { record } = work;
    const size = lease.end - lease.first;
    const state = RunState.restore({ ...record, total: size }, work.items, false);
    chunk.state = state;
    let resolveCompleted!: (completed: boolean) => void;
    const completed = new Promise<boolean>((resolve) => (resolveCompleted = resolve));
    chunk.abort.signal.addEventListener('abort', () => chunk.dropped && resolveCompleted(false), { once: true });
    state.journal = this.chunkJournal(chunk, resolveCompleted);
    // Every item was settled by an earlier holder that lost the chunk before completing it.
    if (state.isTerminal) this.completeAfterWrites(chunk, resolveCompleted);
    else if (chunk.cancelRequested) state.cancelPending(now());
    else {
      let compiled: CompiledFlow | undefined;
      try {
        compiled = await this.options.compile(record.flowId, record.overrides);
      } catch (err) {
        state.failToStart(startFailure(err), now());
      }
      if (compiled && !chunk.dropped) {
        if (chunk.cancelRequested) state.cancelPending(now());
        await scheduler.schedule({
          state,
          compiled,
          inputs: work.inputs,
          items: new IndexRange(size),
          workers: workersFor(lease.slots, size),
          variables: record.variables,
          signal: chunk.abort.signal,
          indexOffset: lease.first,
        });
      }
    }
    if (chunk.dropped) return;
    await completed;
  }

  /**
   * The chunk's journal: the run's journal with the run's item indices; the chunk's end (every item
   * settled) completes it once its transitions are written. Detached when the chunk is dropped.
   */
  private chunkJournal(chunk: HeldChunk, resolve: (completed: boolean) => void): RunStateJournal {
    const run = this.options.writer.journalFor(chunk.lease.runId);
    const first = chunk.lease.first;
    return {
      itemStarted: (index, attempt) => run.itemStarted(first + index, attempt),
      itemSettled: (index, status, result, attempts, completedAt, seq) => run.itemSettled(first + index, status, result, attempts, completedAt, seq),
      runFinished: () => this.completeAfterWrites(chunk, resolve),
    };
  }

  private completeAfterWrites(chunk: HeldChunk, resolve: (completed: boolean) => void): void {
    const { shared, writer, logger } = this.options;
    writer.after(async () => {
      if (chunk.dropped) return resolve(false);
      try {
        const ok = await shared.complete(chunk.lease);
        if (!ok) this.leasesLost([chunk.lease]);
        resolve(ok);
      } catch (err) {
        if (isStoreUnavailable(err)) throw err; // the writer retries
        logger.error({ err, runId: chunk.lease.runId, chunkIndex: chunk.lease.chunkIndex }, `cannot complete chunk ${chunk.lease.chunkIndex} of run ${chunk.lease.runId}: ${(err as Error).message}`);
        resolve(false);
      }
    });
  }

  /** Stops a chunk here: nothing more of it is journaled or completed, its running calls are cancelled. */
  private drop(chunk: HeldChunk): void {
    chunk.dropped = true;
    if (chunk.state) chunk.state.journal = undefined;
    chunk.abort.abort();
  }
}

/** The result every item of a chunk fails with when its run's flow cannot be compiled. */
function startFailure(err: unknown): FlowResult {
  return { outcome: 'failed', error: err instanceof RpcError ? err.toObject() : { code: ErrorCodes.InternalError, message: String(err) } };
}
