import { ErrorCodes, RpcError, type FlowResult, type Overrides } from '../../protocol/index.js';
import type { CompiledFlow } from '../flow/compile.js';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from '../statestore/store-unavailable.js';
import { RunState, type RunStateJournal } from './run-state.js';
import type { RunRecord } from '../statestore/state-store.js';
import { IndexRange, workersFor, type RunScheduler } from './run-scheduler.js';
import type { ChunkItemCounts, ChunkLease, SharedWork, SharedWorkListener } from './shared-work.js';
import type { StoreWriter } from './store-writer.js';
import type { ItemTally } from './item-tally.js';

/** Items this node runs at once at most, over every chunk it holds (docs/cluster.md). */
export const NODE_SLOTS = 1024;
/** Chunks a node holds at most. */
export const MAX_CHUNKS_HELD = 8;
/** Chunks of a run a node keeps claimed and loaded, per chunk of it running, so a settled chunk's slots always find the next one ready. */
const SUCCESSORS_PER_CHUNK = 2;
/** Waits between attempts to complete a chunk while the store is unreachable. */
const COMPLETE_RETRY_MIN_MS = 100;
const COMPLETE_RETRY_MAX_MS = 5_000;
/** How often an idle node looks for chunks (released by others, or whose lease expired). */
const CLAIM_EVERY_MS = 250;
/** How long a node leaves a run it could not execute before it claims a chunk of it again. */
const UNSERVABLE_RECHECK_MS = 1_000;

export interface ChunkRunnerOptions {
  shared: SharedWork;
  scheduler: RunScheduler;
  writer: StoreWriter;
  /** The compiled flow of a stored run, with its overrides applied. */
  compile: (flowId: string, overrides: Overrides | undefined) => Promise<CompiledFlow>;
  logger: Logger;
  now: () => number;
  /** Counts the items settled here (`GET /metrics`). */
  tally?: ItemTally;
  /**
   * Whether this node may execute items of a run of this flow now (docs/cluster.md: a node needs a
   * worker of every pool the flow routes to). Default: always.
   */
  canExecute?: (compiled: CompiledFlow, createdAt: number) => boolean;
  /** Hears each chunk loaded here with its state, and the runs this node finished (their events, docs/events.md). */
  events?: { followChunk(record: RunRecord, state: RunState): void; runsFinished(runIds: readonly string[]): void };
}

/** A chunk held by this node, from its claim until it is completed or dropped. */
class HeldChunk {
  readonly abort = new AbortController();
  state: RunState | undefined;
  /** Items it may run at once: its lease's, or those handed to it by another chunk of its run. */
  slots: number;
  /** Another node holds it now, or this node stopped: nothing of it is completed here. */
  dropped = false;
  /** Every item settled here: it only waits for its transitions to be written and its completion. */
  settled = false;
  /** Another chunk of its run is handing it its slots. */
  receiving = false;
  /**
   * Claimed ahead as `prefetched`: until it starts, a node with slots to spare for its run may take
   * it over, so it starts only once slots are its own in the database. A chunk claimed ahead as
   * reserved starts on a settled chunk's slots at once.
   */
  readonly takeable: boolean;
  cancelRequested: boolean;
  /** Resolves with the slots it runs with (0: it runs nothing more, dropped or cancelled). */
  readonly granted: Promise<number>;
  private resolveGranted!: (slots: number) => void;

  constructor(readonly lease: ChunkLease) {
    this.takeable = lease.prefetched ?? false;
    this.cancelRequested = lease.cancelRequested;
    this.slots = lease.slots;
    this.granted = new Promise((resolve) => (this.resolveGranted = resolve));
    if (lease.slots > 0) this.resolveGranted(lease.slots);
  }

  get key(): string {
    return chunkKey(this.lease.runId, this.lease.chunkIndex);
  }

  /** Running: it has slots and items not all settled. */
  get running(): boolean {
    return this.slots > 0 && !this.settled && !this.dropped;
  }

  /** Waiting for slots: claimed as a successor, prepared or being prepared. */
  get waiting(): boolean {
    return this.slots === 0 && !this.settled && !this.dropped && !this.cancelRequested;
  }

  grant(slots: number): void {
    this.slots = slots;
    this.resolveGranted(slots);
  }
}

/** Adds `delta` to a run's count, dropping it at 0. */
function count(counts: Map<string, number>, runId: string, delta: number): void {
  const n = (counts.get(runId) ?? 0) + delta;
  if (n > 0) counts.set(runId, n);
  else counts.delete(runId);
}

function chunkKey(runId: string, chunkIndex: number): string {
  return `${chunkIndex}:${runId}`;
}

/**
 * A cluster node's share of the work (docs/cluster.md): it claims chunks of runs from the shared
 * database while it has room, executes each chunk's items with the run scheduler (the chunk's
 * `slots` at a time, journaled through the store writer, whose writes the database fences by the
 * chunk's epoch), and completes the chunk once its transitions are written. While a chunk runs,
 * the next chunk of its run is claimed and prepared without slots; when the first settles, its
 * slots move to the second in one statement, so a run's items keep flowing across chunk
 * boundaries. A lost lease or a cancel from any node reaches it through `SharedWorkListener`.
 */
export class ChunkRunner implements SharedWorkListener {
  private readonly held = new Map<string, HeldChunk>();
  /** Successor claims under way, by run, and how many of them claim reserved. */
  private readonly prefetching = new Map<string, number>();
  private readonly reserving = new Map<string, number>();
  private claiming = false;
  private claimAgain = false;
  /** Chunks whose transitions are written, to complete together. */
  private toComplete: Array<{ chunk: HeldChunk; resolve: (completed: boolean) => void }> = [];
  private completing: Promise<void> | undefined;
  /** Runs this node could not execute, until when it leaves them to other nodes. */
  private readonly unservable = new Map<string, number>();
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

  runsFinished(runIds: readonly string[]): void {
    this.options.events?.runsFinished(runIds);
  }

  leasesLost(leases: readonly ChunkLease[]): void {
    for (const lease of leases) {
      const chunk = this.held.get(chunkKey(lease.runId, lease.chunkIndex));
      if (!chunk || chunk.lease.epoch !== lease.epoch || chunk.dropped) continue;
      // A chunk claimed ahead and not started was taken over by a node with slots to spare: nothing was lost.
      if (chunk.waiting && !chunk.receiving) {
        this.options.logger.debug({ runId: lease.runId, chunkIndex: lease.chunkIndex }, 'a chunk claimed ahead was taken over by another node');
        this.drop(chunk);
        continue;
      }
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
      // One waiting for slots ends cancelled without them.
      if (chunk.slots === 0) chunk.grant(0);
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
      await this.grantWaiting();
      // Only running chunks take room: settled ones wait for the journal, waiting ones for slots.
      let slots = 0;
      let running = 0;
      for (const chunk of this.held.values()) {
        if (!chunk.running) continue;
        slots += chunk.slots;
        running++;
      }
      if (running >= MAX_CHUNKS_HELD || slots >= NODE_SLOTS) return;
      let leases: ChunkLease[];
      try {
        leases = await this.options.shared.claim(MAX_CHUNKS_HELD - running, NODE_SLOTS - slots, this.runsToLeave());
      } catch (err) {
        this.options.logger.warn({ err }, `cannot claim chunks: ${(err as Error).message}`);
        return;
      }
      // Claimed while stopping: handed back with the rest.
      if (this.stopped) return;
      // Chunks claimed together load one after another, oldest run first: a parent's chunk that
      // runs items again cancels their stale children before a claimed chunk of a child starts.
      let loaded: Promise<unknown> = Promise.resolve();
      for (const lease of leases) loaded = this.begin(lease, loaded);
      // A full claim may leave more to take.
      if (leases.length > 0) this.claimAgain = true;
    } while (this.claimAgain && !this.stopped);
  }

  /** Runs this node could not execute a moment ago. */
  private runsToLeave(): string[] {
    const now = this.options.now();
    for (const [runId, until] of this.unservable) if (until <= now) this.unservable.delete(runId);
    return [...this.unservable.keys()];
  }

  /** Waiting chunks of runs this node runs nothing of get slots of their own, if their run has any left. */
  private async grantWaiting(): Promise<void> {
    const runningRuns = new Set<string>();
    for (const chunk of this.held.values()) if (chunk.running || chunk.receiving) runningRuns.add(chunk.lease.runId);
    for (const chunk of [...this.held.values()]) {
      if (!chunk.waiting || chunk.receiving || runningRuns.has(chunk.lease.runId)) continue;
      try {
        const slots = await this.options.shared.acquireSlots(chunk.lease);
        if (slots > 0 && chunk.waiting && !chunk.receiving) {
          chunk.grant(slots);
          runningRuns.add(chunk.lease.runId);
          this.prefetch(chunk.lease.runId);
        }
      } catch (err) {
        this.options.logger.warn({ err }, `cannot acquire slots: ${(err as Error).message}`);
        return;
      }
    }
  }

  /** Holds and executes a claimed chunk, loading it after `before`; resolves once it is loaded. */
  private begin(lease: ChunkLease, before: Promise<unknown> = Promise.resolve()): Promise<unknown> {
    const chunk = new HeldChunk(lease);
    // Claimed again at a later epoch (another node held it meanwhile, and this one has not heard
    // it lost yet): the earlier holding is lost, and what it still has in flight is stale.
    const earlier = this.held.get(chunk.key);
    if (earlier && earlier.lease.epoch < lease.epoch) this.leasesLost([earlier.lease]);
    this.held.set(chunk.key, chunk);
    if (chunk.running) this.prefetch(lease.runId);
    let loaded!: () => void;
    const onLoaded = new Promise<void>((resolve) => (loaded = resolve));
    void this.execute(chunk, before, loaded)
      .catch((err: unknown) => {
        this.options.logger.error({ err, runId: lease.runId, chunkIndex: lease.chunkIndex }, `chunk ${lease.chunkIndex} of run ${lease.runId} failed to run: ${(err as Error).message}`);
        this.drop(chunk);
        // Another node (or this one, later) takes it; if the database cannot be told, the lease expires.
        this.options.shared.release(lease).catch(() => {});
      })
      .finally(() => {
        loaded();
        if (this.held.get(chunk.key) === chunk) this.held.delete(chunk.key);
        this.options.shared.forget(lease);
        this.claimSoon();
      });
    return onLoaded;
  }

  /**
   * Claims successors of a run's running chunks until `SUCCESSORS_PER_CHUNK` per running chunk wait:
   * the first of each reserved (it starts as soon as a chunk settles), the others prefetched.
   */
  private prefetch(runId: string): void {
    if (this.stopped) return;
    let running = 0;
    let waiting = this.prefetching.get(runId) ?? 0;
    let reserved = this.reserving.get(runId) ?? 0;
    for (const chunk of this.held.values()) {
      if (chunk.lease.runId !== runId) continue;
      if (chunk.running) running++;
      else if (chunk.waiting) {
        waiting++;
        if (!chunk.takeable) reserved++;
      }
    }
    if (waiting >= running * SUCCESSORS_PER_CHUNK) return;
    const reserve = reserved < running;
    count(this.prefetching, runId, 1);
    if (reserve) count(this.reserving, runId, 1);
    this.options.shared
      .claimSuccessor(runId, reserve)
      .then(
        (lease) => {
          if (lease && !this.stopped) void this.begin(lease);
          // More room may want another successor.
          if (lease) queueMicrotask(() => this.prefetch(runId));
        },
        (err: unknown) => this.options.logger.warn({ err, runId }, `cannot claim the next chunk of run ${runId}: ${(err as Error).message}`),
      )
      .finally(() => {
        count(this.prefetching, runId, -1);
        if (reserve) count(this.reserving, runId, -1);
      });
  }

  /** Loads, executes (once it has slots) and completes one chunk; returns early when it is dropped. */
  private async execute(chunk: HeldChunk, before: Promise<unknown>, loaded: () => void): Promise<void> {
    const { lease } = chunk;
    const { shared, scheduler, now } = this.options;
    await before;
    const work = await shared.load(lease).finally(loaded);
    if (chunk.dropped) return;
    const { record } = work;
    const size = lease.end - lease.first;
    const state = RunState.restore({ ...record, total: size }, work.items, false);
    chunk.state = state;
    this.options.events?.followChunk(record, state);
    let resolveCompleted!: (completed: boolean) => void;
    const completed = new Promise<boolean>((resolve) => (resolveCompleted = resolve));
    chunk.abort.signal.addEventListener('abort', () => chunk.dropped && resolveCompleted(false), { once: true });
    state.journal = this.chunkJournal(chunk, resolveCompleted);
    if (state.isTerminal) {
      // Every item was settled by an earlier holder that lost the chunk before completing it.
      this.settledHere(chunk);
      this.completeAfterWrites(chunk, resolveCompleted);
    } else if (chunk.cancelRequested) state.cancelPending(now());
    else {
      let compiled: CompiledFlow | undefined;
      try {
        compiled = await this.options.compile(record.flowId, record.overrides);
      } catch (err) {
        state.failToStart(startFailure(err), now());
      }
      if (compiled && this.options.canExecute && !this.options.canExecute(compiled, record.createdAt)) {
        // Nothing of it started here: another node (or this one, once it can) claims it.
        this.unservable.set(lease.runId, now() + UNSERVABLE_RECHECK_MS);
        this.drop(chunk);
        await shared.release(lease).catch(() => {});
        return;
      }
      const slots = compiled ? await chunk.granted : 0;
      if (compiled && slots > 0 && !chunk.dropped) {
        if (chunk.cancelRequested) state.cancelPending(now());
        await scheduler.schedule({
          state,
          compiled,
          inputs: work.inputs,
          items: new IndexRange(size),
          workers: workersFor(slots, size),
          variables: record.variables,
          defaults: record.defaults,
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
   * settled) hands its slots on and completes it once its transitions are written. Detached when the
   * chunk is dropped.
   */
  private chunkJournal(chunk: HeldChunk, resolve: (completed: boolean) => void): RunStateJournal {
    const writer = this.options.writer.journalFor(chunk.lease.runId, chunk.lease.epoch);
    const run = this.options.tally ? this.options.tally.counting(writer) : writer;
    const first = chunk.lease.first;
    return {
      itemStarted: (index, attempt, startedAt) => run.itemStarted(first + index, attempt, startedAt),
      itemSettled: (index, status, result, attempts, completedAt, seq, startedAt, steps) =>
        run.itemSettled(first + index, status, result, attempts, completedAt, seq, startedAt, steps),
      runFinished: () => {
        this.settledHere(chunk);
        this.completeAfterWrites(chunk, resolve);
      },
    };
  }

  /**
   * A chunk's items all settled: its slots go to a waiting chunk of its run held here, which starts
   * on them at once while one statement moves them in the database; else they go back to the run.
   * Either way the run's next items wait neither for the journal nor for the database.
   */
  private settledHere(chunk: HeldChunk): void {
    if (chunk.settled) return;
    chunk.settled = true;
    const slots = chunk.slots;
    if (slots === 0 || this.stopped) return;
    const { shared, logger } = this.options;
    const candidates = [...this.held.values()].filter((c) => c.lease.runId === chunk.lease.runId && c.waiting && !c.receiving);
    const next = candidates.find((c) => !c.takeable) ?? candidates[0];
    if (!next) {
      this.releaseSlots(chunk);
      return;
    }
    next.receiving = true;
    // A reserved chunk starts at once on the settled one's slots, which the database counts for
    // this node until the move commits (if the move fails, it stops again); a prefetched one could
    // be taken over meanwhile, so it starts once the move committed.
    const early = !next.takeable;
    if (early) this.startOn(next, slots);
    const failed = (err?: unknown): void => {
      if (err) logger.warn({ err, runId: chunk.lease.runId }, `cannot hand the slots of chunk ${chunk.lease.chunkIndex} on: ${(err as Error).message}`);
      this.releaseSlots(chunk);
      if (!early || next.dropped) return;
      this.drop(next);
      shared.release(next.lease).catch(() => {});
    };
    shared.transferSlots(chunk.lease, next.lease, slots).then(
      (moved) => {
        next.receiving = false;
        if (!moved) failed();
        else if (!early && next.waiting) this.startOn(next, slots);
        else if (!early) this.releaseSlots(next);
      },
      (err: unknown) => {
        next.receiving = false;
        failed(err);
      },
    );
  }

  private startOn(chunk: HeldChunk, slots: number): void {
    chunk.grant(slots);
    this.prefetch(chunk.lease.runId);
  }

  private releaseSlots(chunk: HeldChunk): void {
    this.options.shared.releaseSlots(chunk.lease).then(
      () => this.claimSoon(),
      (err: unknown) => this.options.logger.warn({ err, runId: chunk.lease.runId }, `cannot release the slots of chunk ${chunk.lease.chunkIndex}: ${(err as Error).message}`),
    );
  }

  /**
   * Completes the chunk once the journal has written every transition queued before now. The
   * completion runs beside the journal's later writes, not in its queue (a chunk's few statements
   * must not hold back every other chunk's transitions), and the chunks ready meanwhile complete
   * together in one transaction.
   */
  private completeAfterWrites(chunk: HeldChunk, resolve: (completed: boolean) => void): void {
    this.options.writer.after(async () => {
      this.toComplete.push({ chunk, resolve });
      if (!this.completing) this.completing = this.completeReady().finally(() => (this.completing = undefined));
    });
  }

  /** Completes the chunks ready, in batches, until none is left; retries while the store is unreachable. */
  private async completeReady(): Promise<void> {
    const { shared, logger } = this.options;
    let delayMs = COMPLETE_RETRY_MIN_MS;
    while (this.toComplete.length > 0) {
      const batch = this.toComplete.filter(({ chunk, resolve }) => !chunk.dropped || (resolve(false), false));
      this.toComplete = [];
      if (batch.length === 0) continue;
      try {
        const done = await shared.complete(
          batch.map(({ chunk }) => chunk.lease),
          batch.map(({ chunk }) => finalCounts(chunk)),
        );
        batch.forEach(({ chunk, resolve }, k) => {
          if (!done[k]) this.leasesLost([chunk.lease]);
          resolve(done[k]);
        });
        delayMs = COMPLETE_RETRY_MIN_MS;
      } catch (err) {
        if (!isStoreUnavailable(err) || this.stopped) {
          logger.error({ err, chunks: batch.length }, `cannot complete ${batch.length} chunks: ${(err as Error).message}`);
          for (const { resolve } of batch) resolve(false);
          continue;
        }
        this.toComplete.unshift(...batch);
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(COMPLETE_RETRY_MAX_MS, delayMs * 2);
      }
    }
  }

  /** Stops a chunk here: nothing more of it is journaled or completed, its running calls are cancelled. */
  private drop(chunk: HeldChunk): void {
    chunk.dropped = true;
    if (chunk.state) chunk.state.journal = undefined;
    chunk.abort.abort();
    chunk.grant(0);
  }
}

/** The result every item of a chunk fails with when its run's flow cannot be compiled. */
function startFailure(err: unknown): FlowResult {
  return { outcome: 'failed', error: err instanceof RpcError ? err.toObject() : { code: ErrorCodes.InternalError, message: String(err) } };
}

/** A chunk's items by final status, when every one of them settled here (else undefined: counted from the items). */
function finalCounts(chunk: HeldChunk): ChunkItemCounts | undefined {
  const counts = chunk.state?.counts;
  if (counts === undefined) return undefined;
  const { success, failed, cancelled } = counts;
  return success + failed + cancelled === chunk.lease.end - chunk.lease.first ? { success, failed, cancelled } : undefined;
}
