import { ErrorCodes, type FlowResult, type Status } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import { ItemTransitions, RUNNING_CODE } from '../statestore/item-transitions.js';
import { SqliteStateStore } from '../statestore/sqlite-state-store.js';
import type { StateStore } from '../statestore/state-store.js';
import { isStoreClosed, isStoreUnavailable } from '../statestore/store-unavailable.js';
import type { RunStateJournal } from './run-state.js';

type Op =
  | { kind: 'items'; batch: ItemTransitions; after?: Array<() => Promise<void>> }
  | { kind: 'cancel'; runId: string }
  | { kind: 'finish'; runId: string; status: Status; at: number }
  | { kind: 'after'; work: () => Promise<void> };

/** The default batch window of a SQLite store (`batchWindowMs`). */
const SQLITE_BATCH_WINDOW_MS = 50;
/** Batches kept for reuse: one being filled while one is written is the steady state. */
const MAX_SPARE_BATCHES = 2;
/** Transitions a reused batch may have room for. */
const MAX_SPARE_CAPACITY = 16_384;

/** Options of a StoreWriter; every field has a default. */
export interface StoreWriterOptions {
  /**
   * Called when an item's settled transition cannot be stored (its result is not storable): the
   * item is recorded as failed with `result` instead. Returns the run's status when the run is
   * already terminal (it may change: every item may now have failed), else undefined. Default: none.
   */
  onItemUnwritable?: (runId: string, itemIndex: number, result: FlowResult) => Status | undefined;
  /** First wait before retrying a write while the store is unreachable; doubles up to `retryMaxMs`. Default 100. */
  retryMinMs?: number;
  /** Longest wait between retries. Default 5000. */
  retryMaxMs?: number;
  /** Queued transitions above which `whenBelowLimit` asks producers to wait. Default 200,000. */
  maxPendingTransitions?: number;
  /**
   * Shortest time between the starts of two writes, ms: what arrives meanwhile goes out together in
   * the next one, where an item that started and settled within it costs one row update instead of
   * two. A write after a quiet spell goes out on the next turn of the event loop. Default 50 for a
   * SQLite store, whose writes are synchronous (without a window each event-loop turn would be a
   * transaction of its own), else 0: every turn's transitions go out on the next turn, and what
   * arrives while a write is under way goes out together after it (bench/HISTORY.md, seventh pass).
   */
  batchWindowMs?: number;
}

/** Thrown inside the writer when it stops while the store is unreachable, or finds it closed: what is left stays unwritten. */
class Abandoned extends Error {}

/**
 * Writes run transitions to the state store behind the run manager's back, in order: the
 * transitions of one event-loop turn, or of what arrived during the last write, or of a batch
 * window (`batchWindowMs`) go out in one `recordItems` batch (one transaction), so a run of a
 * million items costs a few thousand writes at most, not a million.
 *
 * Failures never lose order or blame the wrong run (docs/state-stores.md):
 * - the store unreachable: the same write is retried with backoff until it succeeds, while
 *   producers wait once `maxPendingTransitions` are queued;
 * - a batch refused for what it holds: it is written in halves, down to single transitions, and
 *   an item whose transition is refused on its own is recorded as failed with an error naming it;
 * - a run's finish is written after every transition queued before it, so a run is never
 *   recorded finished while its items are not.
 */
export class StoreWriter {
  private queue: Op[] = [];
  /** Written batches, emptied for reuse (their columns keep their capacity). */
  private readonly spareBatches: ItemTransitions[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  /** When the last write started (`performance.now()`), for the batch window. */
  private lastFlushAt = -Infinity;
  /** Set at shutdown: transitions after it are not journaled (the run resumes from the store). */
  private stopped = false;
  /** Set when the writer stopped with the store unreachable: nothing more is written. */
  private abandoned = false;
  /** Transitions of the ops being written now. */
  private writingTransitions = 0;
  private belowLimit: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set while a write waits to be retried because the store is unreachable. */
  private retrying = false;
  /** Wakes a retry that waits for the store (at stop). */
  private wakeRetry: (() => void) | undefined;
  /** Terminal statuses changed by items recorded as failed, until the run's finish is written. */
  private readonly finishStatus = new Map<string, Status>();
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly maxPendingTransitions: number;
  private readonly batchWindowMs: number;

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
    private readonly options: StoreWriterOptions = {},
  ) {
    this.retryMinMs = positive(options.retryMinMs, 100, 'retryMinMs');
    this.retryMaxMs = Math.max(this.retryMinMs, positive(options.retryMaxMs, 5_000, 'retryMaxMs'));
    this.maxPendingTransitions = positive(options.maxPendingTransitions, 200_000, 'maxPendingTransitions');
    const windowMs = options.batchWindowMs ?? (store instanceof SqliteStateStore ? SQLITE_BATCH_WINDOW_MS : 0);
    this.batchWindowMs = windowMs === 0 ? 0 : positive(windowMs, 0, 'batchWindowMs');
  }

  /** Whether the last write found the store unreachable and waits to retry it. */
  get unreachable(): boolean {
    return this.retrying;
  }

  /**
   * A journal that records one run's transitions through this writer; a cluster node's chunk tags
   * them with its lease's epoch (`fence`), which the fenced write checks.
   */
  journalFor(runId: string, fence = 0): RunStateJournal {
    return {
      itemStarted: (itemIndex, attempt, startedAt) => this.batch()?.started(runId, itemIndex, attempt, startedAt, fence),
      itemSettled: (itemIndex, status, result, attempts, completedAt, completionSeq, startedAt, steps) =>
        this.batch()?.settled(runId, itemIndex, status, attempts, result, completedAt, completionSeq, startedAt, steps, fence),
      runFinished: (status, at) => this.push({ kind: 'finish', runId, status, at }),
    };
  }

  markCancelled(runId: string): void {
    this.push({ kind: 'cancel', runId });
  }

  /**
   * Runs `work` once every transition queued before this call is written, retried like a write
   * while the store is unreachable: a cluster node completes a chunk after its items' transitions.
   */
  after(work: () => Promise<void>): void {
    if (this.stopped) return;
    // Riding on the batch being filled keeps it whole: later transitions may join it, which only
    // delays `work` until they are written too.
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'items') (last.after ??= []).push(work);
    else this.push({ kind: 'after', work });
  }

  /** Stops journaling; what is queued is still written (see `drain`), unless the store is unreachable. */
  stop(): void {
    this.stopped = true;
    this.wakeRetry?.();
  }

  /**
   * Undefined while fewer than `maxPendingTransitions` transitions wait to be written; else a
   * promise that resolves once half of them are: producers wait on it, so an unreachable store
   * holds back new work instead of letting the queue grow without bound.
   */
  whenBelowLimit(): Promise<void> | undefined {
    if (this.belowLimit) return this.belowLimit.promise;
    if (this.pendingTransitions() <= this.maxPendingTransitions) return undefined;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.belowLimit = { promise, resolve };
    return promise;
  }

  /**
   * Resolves once every transition queued before this call is written; later ones do not delay
   * it (at most two flushes), so it ends even while runs keep producing transitions.
   */
  async settled(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.queue.length > 0 || this.flushing) await this.flush();
  }

  /** Resolves when the queue is empty: for shutdown, once no new transitions arrive. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  /** The batch a transition goes into: the last queued op when it is one, else a new one (order is kept). */
  private batch(): ItemTransitions | undefined {
    if (this.stopped) return undefined;
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'items') return last.batch;
    const batch = this.spareBatches.pop() ?? new ItemTransitions();
    this.push({ kind: 'items', batch });
    return batch;
  }

  private push(op: Op): void {
    if (this.stopped) return;
    this.queue.push(op);
    this.schedule();
  }

  /** Flushes on the next turn, or once the batch window since the last write has passed. */
  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    const waitMs = this.lastFlushAt + this.batchWindowMs - performance.now();
    const go = () => {
      this.scheduled = false;
      void this.flush();
    };
    if (waitMs > 0) setTimeout(go, waitMs);
    else setImmediate(go);
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const ops = this.queue;
    this.queue = [];
    if (this.abandoned || ops.length === 0) return Promise.resolve();
    this.lastFlushAt = performance.now();
    this.flushing = this.write(ops).finally(() => {
      this.flushing = undefined;
      // What arrived while writing goes out next, still in order: now, unless the window is still open.
      if (this.queue.length === 0) return;
      if (performance.now() >= this.lastFlushAt + this.batchWindowMs) void this.flush();
      else this.schedule();
    });
    return this.flushing;
  }

  private async write(ops: Op[]): Promise<void> {
    this.writingTransitions = 0;
    for (const op of ops) if (op.kind === 'items') this.writingTransitions += op.batch.length;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      try {
        await this.writeOp(op);
      } catch (err) {
        if (err instanceof Abandoned) {
          this.abandon(ops.length - i);
          return;
        }
        // Not an item's transition (those are isolated in writeItems): the live state stays right.
        this.logger.error({ err, op: op.kind, runId: 'runId' in op ? op.runId : undefined }, 'state store write failed');
      }
      if (op.kind === 'items') {
        this.writingTransitions -= op.batch.length;
        this.recycle(op.batch);
        this.checkBelowLimit();
        if (op.after) for (const work of op.after) await this.writeOp({ kind: 'after', work }).catch((err: unknown) => this.logger.error({ err }, 'a step after a journal write failed'));
      }
    }
  }

  private async writeOp(op: Op): Promise<void> {
    if (op.kind === 'items') await this.writeItems(op.batch);
    else if (op.kind === 'cancel') await this.persist(() => this.store.markCancelled(op.runId));
    else if (op.kind === 'after') await this.persist(op.work);
    else {
      const status = this.finishStatus.get(op.runId) ?? op.status;
      this.finishStatus.delete(op.runId);
      await this.persist(() => this.store.finishRun(op.runId, status, op.at));
    }
  }

  /**
   * One batch, or, when the store refuses it for what it holds, its halves in order, and so on
   * down to single transitions: a culprit among n transitions costs about 2·log2(n) writes, not n.
   */
  private async writeItems(batch: ItemTransitions): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.persist(() => this.store.recordItems(batch));
    } catch (err) {
      if (err instanceof Abandoned) throw err;
      this.logger.warn({ err, transitions: batch.length }, 'state store refused a journal batch; finding the transitions to blame');
      await this.refused(batch, 0, batch.length, err as Error);
    }
  }

  /** Transitions [from, to) were refused together: a single one is to blame, more are written in halves. */
  private async refused(batch: ItemTransitions, from: number, to: number, cause: Error): Promise<void> {
    if (to - from === 1) {
      await this.recordUnwritable(batch, from, cause);
      return;
    }
    const mid = from + Math.floor((to - from) / 2);
    for (const [start, end] of [[from, mid], [mid, to]]) {
      const part = new ItemTransitions();
      for (let k = start; k < end; k++) part.append(batch, k);
      try {
        await this.persist(() => this.store.recordItems(part));
      } catch (err) {
        if (err instanceof Abandoned) throw err;
        await this.refused(batch, start, end, err as Error);
      }
    }
  }

  /** Records the item of transition `k` as failed, with an error saying why its transition could not be stored. */
  private async recordUnwritable(batch: ItemTransitions, k: number, cause: Error): Promise<void> {
    const runId = batch.runIds[k];
    const itemIndex = batch.indices[k];
    this.logger.error({ err: cause, runId, itemIndex }, 'an item transition could not be stored; recording the item as failed');
    // A start carries no data of its own: nothing to replace; the item settles later.
    if (batch.statuses[k] === RUNNING_CODE) return;
    const result: FlowResult = {
      outcome: 'failed',
      error: {
        code: ErrorCodes.InvalidValue,
        message: `the result of item ${itemIndex} of run ${runId} could not be stored: ${cause.message}`,
        data: { runId, itemIndex },
      },
    };
    const replacement = new ItemTransitions();
    replacement.settled(runId, itemIndex, 'failed', batch.attempts[k], result, batch.completedAt[k], batch.completionSeqs[k], batch.startedAt[k]);
    try {
      await this.persist(() => this.store.recordItems(replacement));
    } catch (err) {
      if (err instanceof Abandoned) throw err;
      this.logger.error({ err, runId, itemIndex }, 'recording an item as failed failed too');
      return;
    }
    const status = this.options.onItemUnwritable?.(runId, itemIndex, result);
    if (status !== undefined) this.finishStatus.set(runId, status);
  }

  /**
   * Runs `write` until it succeeds or fails for a reason other than the store being unreachable
   * (then rethrows). While unreachable it retries with doubling waits; once stopped it gives up
   * with `Abandoned`, so shutdown never hangs on a store that is down.
   */
  private async persist(write: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        if (attempt > 0) this.logger.info({ attempts: attempt + 1 }, 'state store reachable again; write retried');
        this.retrying = false;
        return;
      } catch (err) {
        // A closed store refuses every write: no item is to blame, what is left stays unwritten.
        if (isStoreClosed(err)) throw new Abandoned('state store closed', { cause: err });
        if (!isStoreUnavailable(err)) {
          this.retrying = false;
          throw err;
        }
        this.retrying = true;
        if (this.stopped) throw new Abandoned('state store unreachable at shutdown', { cause: err });
        const delayMs = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(attempt, 20));
        this.logger.warn({ err, attempt: attempt + 1, retryInMs: delayMs }, 'state store unreachable; retrying the write');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
  }

  /** Drops what is left after the store stayed unreachable at shutdown: the next start resumes from what the store holds. */
  private abandon(opsLeft: number): void {
    this.abandoned = true;
    this.logger.error(
      { opsLeft: opsLeft + this.queue.length },
      'state store unreachable at shutdown or closed: the last transitions stay unwritten; unfinished items run again after a restart',
    );
    this.queue = [];
    this.writingTransitions = 0;
    this.checkBelowLimit();
  }

  private recycle(batch: ItemTransitions): void {
    // A huge batch (a run of a million items cancelled at once) is not worth its memory.
    if (this.spareBatches.length < MAX_SPARE_BATCHES && batch.capacity <= MAX_SPARE_CAPACITY) {
      batch.clear();
      this.spareBatches.push(batch);
    }
  }

  private pendingTransitions(): number {
    let n = this.writingTransitions;
    for (const op of this.queue) if (op.kind === 'items') n += op.batch.length;
    return n;
  }

  private checkBelowLimit(): void {
    if (this.belowLimit && (this.abandoned || this.pendingTransitions() <= this.maxPendingTransitions / 2)) {
      this.belowLimit.resolve();
      this.belowLimit = undefined;
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`StoreWriter option ${name} must be a positive number, got ${value}`);
  return value;
}
