import type { RunStatus } from '../../protocol/index.js';

/** The run-level kinds of event the state store keeps (item events are served from memory and the items table). */
export type StoredRunEventType = 'run.created' | 'run.started' | 'run.progress' | 'run.finished';

/** A run-level event as it is appended: the run's status (no results) when it happened. */
export interface RunEventRecord {
  type: StoredRunEventType;
  runId: string;
  /** The run's namespace (docs/security.md): a watch delivers only its caller's. */
  namespace: string;
  /** When it happened, ms since the epoch (what `prune` compares). */
  at: number;
  run: RunStatus;
}

/** An appended event with its cursor. */
export interface StoredRunEvent extends RunEventRecord {
  cursor: number;
}

/**
 * The events of runs kept for a while (docs/events.md), so a watcher that reconnects with
 * `since` misses nothing: cursors rise with every append and are never reused.
 */
export interface RunEventLog {
  /** Appends events in order; resolves to their cursors, increasing, each above every earlier one. */
  append(events: readonly RunEventRecord[]): Promise<number[]>;
  /** Up to `limit` events with a cursor above `cursor`, lowest first. */
  after(cursor: number, limit: number): Promise<StoredRunEvent[]>;
  /** The highest cursor appended so far (0: none). */
  lastCursor(): Promise<number>;
  /** Removes events that happened before `before` (ms since the epoch); resolves to how many. */
  prune(before: number): Promise<number>;
}

/** A RunEventLog in memory, for the memory state store. */
export class MemoryRunEventLog implements RunEventLog {
  private readonly events: StoredRunEvent[] = [];
  private next = 1;

  async append(events: readonly RunEventRecord[]): Promise<number[]> {
    return events.map((event) => {
      const cursor = this.next++;
      this.events.push({ ...event, cursor });
      return cursor;
    });
  }

  async after(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    // Cursors are in order: the first one above `cursor` by binary search.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid].cursor <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo, lo + limit);
  }

  async lastCursor(): Promise<number> {
    return this.next - 1;
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    while (n < this.events.length && this.events[n].at < before) n++;
    this.events.splice(0, n);
    return n;
  }
}
