import type { Status } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import { ItemTransitions } from '../store/item-transitions.js';
import type { StateStore } from '../store/state-store.js';
import type { RunStateJournal } from './run-state.js';

type Op =
  | { kind: 'items'; batch: ItemTransitions }
  | { kind: 'cancel'; runId: string }
  | { kind: 'finish'; runId: string; status: Status; at: number };

/** Batches kept for reuse: one being filled while one is written is the steady state. */
const MAX_SPARE_BATCHES = 2;
/** Transitions a reused batch may have room for. */
const MAX_SPARE_CAPACITY = 16_384;

/**
 * Writes run transitions to the state store behind the run manager's back, in order: every
 * transition of one event-loop turn goes out in one `recordItems` batch per run (one
 * transaction), so a run of a million items costs a few thousand writes, not a million.
 */
export class StoreWriter {
  private queue: Op[] = [];
  /** Written batches, emptied for reuse (their columns keep their capacity). */
  private readonly spareBatches: ItemTransitions[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  /** Set at shutdown: transitions after it are not journaled (the run resumes from the store). */
  private stopped = false;

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
  ) {}

  /** A journal that records one run's transitions through this writer. */
  journalFor(runId: string): RunStateJournal {
    return {
      itemStarted: (itemIndex, attempt) => this.batch()?.started(runId, itemIndex, attempt),
      itemSettled: (itemIndex, status, result, attempts, completedAt, completionSeq) =>
        this.batch()?.settled(runId, itemIndex, status, attempts, result, completedAt, completionSeq),
      runFinished: (status, at) => this.push({ kind: 'finish', runId, status, at }),
    };
  }

  markCancelled(runId: string): void {
    this.push({ kind: 'cancel', runId });
  }

  /** Stops journaling; what is queued is still written (see `drain`). */
  stop(): void {
    this.stopped = true;
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
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const ops = this.queue;
    this.queue = [];
    this.flushing = this.write(ops).finally(() => {
      this.flushing = undefined;
      // What arrived while writing goes out next, still in order.
      if (this.queue.length > 0) void this.flush();
    });
    return this.flushing;
  }

  private async recordItems(batch: ItemTransitions): Promise<void> {
    try {
      await this.store.recordItems(batch);
    } finally {
      // A huge batch (a run of a million items cancelled at once) is not worth its memory.
      if (this.spareBatches.length < MAX_SPARE_BATCHES && batch.capacity <= MAX_SPARE_CAPACITY) {
        batch.clear();
        this.spareBatches.push(batch);
      }
    }
  }

  private async write(ops: Op[]): Promise<void> {
    for (const op of ops) {
      try {
        if (op.kind === 'items') await this.recordItems(op.batch);
        else if (op.kind === 'cancel') await this.store.markCancelled(op.runId);
        else await this.store.finishRun(op.runId, op.status, op.at);
      } catch (err) {
        // The live state stays right; only durability is lost for these transitions.
        this.logger.error({ err, op: op.kind }, 'state store write failed');
      }
    }
  }
}
