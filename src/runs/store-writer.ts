import type { FlowResult, Status } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { ItemUpdate, StateStore } from '../store/state-store.js';
import type { RunStateJournal } from './run-state.js';

type Op =
  | { kind: 'items'; batch: ItemBatch }
  | { kind: 'cancel'; runId: string }
  | { kind: 'finish'; runId: string; status: Status; at: number };

/** Item statuses as small integers in a batch's status column. */
const STATUSES: readonly ItemUpdate['status'][] = ['running', 'success', 'failed', 'cancelled'];
const RUNNING = 0;
const SETTLED_CODE = { success: 1, failed: 2, cancelled: 3 } as const;

/**
 * Item transitions queued in one turn, kept column by column: a transition costs a few array
 * pushes instead of an object living until the flush (measured: such objects were most of what
 * the GC promoted in a run of a million items, and so most of its peak RSS).
 */
class ItemBatch {
  readonly runIds: string[] = [];
  readonly indices: number[] = [];
  readonly statuses: number[] = [];
  readonly attempts: number[] = [];
  readonly results: Array<FlowResult | undefined> = [];
  readonly completedAt: number[] = [];
  readonly completionSeqs: number[] = [];

  push(runId: string, index: number, status: number, attempts: number, result: FlowResult | undefined, completedAt: number, completionSeq: number): void {
    this.runIds.push(runId);
    this.indices.push(index);
    this.statuses.push(status);
    this.attempts.push(attempts);
    this.results.push(result);
    this.completedAt.push(completedAt);
    this.completionSeqs.push(completionSeq);
  }

  /** The transitions as the state store takes them, in order. */
  toUpdates(): ItemUpdate[] {
    const n = this.indices.length;
    const updates = new Array<ItemUpdate>(n);
    for (let k = 0; k < n; k++) {
      const status = this.statuses[k];
      updates[k] = status === RUNNING
        ? { runId: this.runIds[k], itemIndex: this.indices[k], status: 'running', attempts: this.attempts[k] }
        : {
            runId: this.runIds[k],
            itemIndex: this.indices[k],
            status: STATUSES[status] as 'success' | 'failed' | 'cancelled',
            attempts: this.attempts[k],
            result: this.results[k],
            completedAt: this.completedAt[k],
            completionSeq: this.completionSeqs[k],
          };
    }
    return updates;
  }
}

/**
 * Writes run transitions to the state store behind the run manager's back, in order: every
 * transition of one event-loop turn goes out in one `recordItems` batch per run (one
 * transaction), so a run of a million items costs a few thousand writes, not a million.
 */
export class StoreWriter {
  private queue: Op[] = [];
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
      itemStarted: (itemIndex, attempt) => this.batch()?.push(runId, itemIndex, RUNNING, attempt, undefined, 0, -1),
      itemSettled: (itemIndex, status, result, attempts, completedAt, completionSeq) =>
        this.batch()?.push(runId, itemIndex, SETTLED_CODE[status], attempts, result, completedAt, completionSeq),
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
  private batch(): ItemBatch | undefined {
    if (this.stopped) return undefined;
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'items') return last.batch;
    const batch = new ItemBatch();
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

  private async write(ops: Op[]): Promise<void> {
    for (const op of ops) {
      try {
        if (op.kind === 'items') await this.store.recordItems(op.batch.toUpdates());
        else if (op.kind === 'cancel') await this.store.markCancelled(op.runId);
        else await this.store.finishRun(op.runId, op.status, op.at);
      } catch (err) {
        // The live state stays right; only durability is lost for these transitions.
        this.logger.error({ err, op: op.kind }, 'state store write failed');
      }
    }
  }
}
