import type { RunStateJournal } from './run-state.js';

/** Seconds `ItemTally.perSecond` looks back over. */
export const RATE_WINDOW_SECONDS = 10;

type SettledStatus = 'success' | 'failed' | 'cancelled';

/**
 * Items settled by this process, by status, and how many per second lately (`GET /metrics`,
 * docs/serve.md). Counting an item costs a few increments and no allocation: the rate comes from
 * a ring of per-second counts keyed by each item's completion time, which the run already took.
 */
export class ItemTally {
  /** Items settled since this tally was made. */
  readonly settled: Record<SettledStatus, number> = { success: 0, failed: 0, cancelled: 0 };
  /** Items settled in one second each; `slotSecond` says which second a slot holds. */
  private readonly slotCount = new Float64Array(RATE_WINDOW_SECONDS);
  private readonly slotSecond = new Float64Array(RATE_WINDOW_SECONDS).fill(-1);

  /** `startedAt`: ms since the epoch when counting began (the rate's window starts no earlier). */
  constructor(private readonly startedAt: number) {}

  /** Counts an item that settled with `status` at `at` (ms since the epoch). */
  count(status: SettledStatus, at: number): void {
    this.settled[status]++;
    const second = Math.floor(at / 1000);
    const slot = second % RATE_WINDOW_SECONDS;
    if (this.slotSecond[slot] !== second) {
      this.slotSecond[slot] = second;
      this.slotCount[slot] = 0;
    }
    this.slotCount[slot]++;
  }

  /**
   * Items settled per second over the last {@link RATE_WINDOW_SECONDS} seconds before `now`: the
   * current second so far and the nine before it, or since counting began when that was later
   * (but over at least a second, so the first items do not read as a burst).
   */
  perSecond(now: number): number {
    const current = Math.floor(now / 1000);
    const firstSecond = current - RATE_WINDOW_SECONDS + 1;
    let items = 0;
    for (let second = firstSecond; second <= current; second++) {
      const slot = second % RATE_WINDOW_SECONDS;
      if (this.slotSecond[slot] === second) items += this.slotCount[slot];
    }
    const windowMs = Math.max(1000, now - Math.max(this.startedAt, firstSecond * 1000));
    return items / (windowMs / 1000);
  }

  /** `journal`, also counting every item it hears settle. */
  counting(journal: RunStateJournal): RunStateJournal {
    return {
      itemStarted: (index, attempt, startedAt) => journal.itemStarted(index, attempt, startedAt),
      itemSettled: (index, status, result, attempts, completedAt, completionSeq, startedAt, steps) => {
        this.count(status, completedAt);
        journal.itemSettled(index, status, result, attempts, completedAt, completionSeq, startedAt, steps);
      },
      runFinished: (status, at) => journal.runFinished(status, at),
    };
  }
}
