import type { RunEventType, RunStatus } from '../../protocol/index.js';

/** An event on its way to one watcher. */
export interface PacedEvent {
  cursor: number;
  type: RunEventType;
  run: RunStatus;
}

interface RunPace {
  sentAt: number;
  /** Items settled in the newest progress seen: an older one (another node's, read earlier) is dropped. */
  settled: number;
  held?: PacedEvent;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Paces one watcher's `run.progress` events (docs/events.md): at most one per run every
 * `everyMs`; a progress that comes sooner is held, replaced by any later one, and sent when its
 * time comes or just before that run's `run.finished`, so the final counters always arrive.
 * Other events pass at once. A progress with fewer settled items than one seen before (on a
 * cluster, counters another node read earlier) is dropped. The cursors a watcher gets never go
 * down: a held progress goes out with the highest cursor sent so far when that is higher than its own.
 */
export class ProgressPacer {
  private readonly runs = new Map<string, RunPace>();
  private lastCursor = 0;

  constructor(
    private readonly everyMs: number,
    private readonly send: (event: PacedEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The highest cursor sent so far. */
  get cursor(): number {
    return this.lastCursor;
  }

  push(event: PacedEvent): void {
    const runId = event.run.runId;
    if (event.type === 'run.progress') {
      this.progress(runId, event);
      return;
    }
    const pace = this.runs.get(runId);
    if (event.type === 'run.finished' && pace !== undefined) {
      if (pace.timer !== undefined) clearTimeout(pace.timer);
      if (pace.held !== undefined) this.emit(pace.held);
      this.runs.delete(runId);
    }
    this.emit(event);
  }

  private progress(runId: string, event: PacedEvent): void {
    const now = this.now();
    let pace = this.runs.get(runId);
    if (pace === undefined) {
      pace = { sentAt: -Infinity, settled: -1 };
      this.runs.set(runId, pace);
    }
    const { items } = event.run;
    const settled = items.total - items.pending - items.running;
    if (settled < pace.settled) return;
    pace.settled = settled;
    const wait = pace.sentAt + this.everyMs - now;
    if (wait <= 0 && pace.held === undefined) {
      pace.sentAt = now;
      this.emit(event);
      return;
    }
    pace.held = event;
    if (pace.timer === undefined) {
      const held = pace;
      held.timer = setTimeout(() => this.release(held), Math.max(0, wait));
      held.timer.unref?.();
    }
  }

  private release(pace: RunPace): void {
    pace.timer = undefined;
    const held = pace.held;
    if (held === undefined) return;
    pace.held = undefined;
    pace.sentAt = this.now();
    this.emit(held);
  }

  /** Sends `event` with a cursor no lower than any sent before. */
  emit(event: PacedEvent): void {
    if (event.cursor < this.lastCursor) event = { ...event, cursor: this.lastCursor };
    this.lastCursor = event.cursor;
    this.send(event);
  }

  /** Drops what is held and its timers. */
  close(): void {
    for (const pace of this.runs.values()) if (pace.timer !== undefined) clearTimeout(pace.timer);
    this.runs.clear();
  }
}
