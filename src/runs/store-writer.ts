import type { FlowResult, Status } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { ItemUpdate, StateStore } from '../store/state-store.js';
import type { RunStateJournal } from './run-state.js';

type Op =
  | { kind: 'items'; updates: ItemUpdate[] }
  | { kind: 'cancel'; runId: string }
  | { kind: 'finish'; runId: string; status: Status; at: number };

/**
 * Writes run transitions to the state store behind the run manager's back, in order: every
 * transition of one event-loop turn goes out in one `recordItems` batch (one transaction), so
 * a run of a million items costs a few thousand writes, not a million.
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
      itemStarted: (itemIndex, attempt) => this.pushItem({ runId, itemIndex, status: 'running', attempts: attempt }),
      itemSettled: (itemIndex, status, result: FlowResult | undefined, attempts, completedAt, completionSeq) =>
        this.pushItem({ runId, itemIndex, status, attempts, result, completedAt, completionSeq }),
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

  /** Resolves when everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private pushItem(update: ItemUpdate): void {
    if (this.stopped) return;
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'items') last.updates.push(update);
    else this.push({ kind: 'items', updates: [update] });
  }

  private push(op: Op): void {
    if (this.stopped) return;
    if (op.kind !== 'items' || this.queue[this.queue.length - 1] !== op) this.queue.push(op);
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
        if (op.kind === 'items') await this.store.recordItems(op.updates);
        else if (op.kind === 'cancel') await this.store.markCancelled(op.runId);
        else await this.store.finishRun(op.runId, op.status, op.at);
      } catch (err) {
        // The live state stays right; only durability is lost for these transitions.
        this.logger.error({ err, op: op.kind }, 'state store write failed');
      }
    }
  }
}
