import { randomUUID } from 'node:crypto';
import { RpcError, type ItemResult, type RunEventType, type RunStatus, type RunsWatchParamsType } from '../../protocol/index.js';
import type { RunManager } from '../runs/run-manager.js';
import type { RunState } from '../runs/run-state.js';
import { ProgressPacer, type PacedEvent } from '../runs/progress-pacer.js';
import { watchFilterMatches } from '../runs/watch-filter.js';
import type { StoredRunEvent } from '../runs/run-event-feed.js';

/** One event as a watcher receives it (`runs/event` without the subscription id). */
export interface WatchEvent {
  cursor: string;
  type: RunEventType;
  run: RunStatus;
  item?: ItemResult;
}

/** Events read from the log per page while a watch replays what followed its `since`. */
const REPLAY_PAGE = 1000;

/**
 * One `runs/watch` subscription (docs/events.md): the run events of its namespace (or of every
 * namespace) that pass its run id or filter, replayed from the state store after `since`, then
 * live, with nothing lost or sent twice across the seam; progress paced by `progressEveryMs`;
 * with `items`, the run's item results as they settle. A watch of one run ends after that run's `run.finished`.
 */
export class RunWatch {
  readonly id = randomUUID();
  private readonly pacer: ProgressPacer;
  private buffered: StoredRunEvent[] | undefined = [];
  private unlisten: (() => void) | undefined;
  /** Runs this watch sent an event of: their `run.finished` passes whatever the status filter says. */
  private readonly followed = new Set<string>();
  private stopItems: (() => void) | undefined;
  private closed = false;
  /** With `items`: how many item events of the run were sent (from the `since` cursor on). */
  private itemsSent = 0;
  /** Item events wait until the answer is written and the replay reached them. */
  private itemsReady = false;
  private finishSent = false;

  constructor(
    private readonly runs: RunManager,
    private readonly params: RunsWatchParamsType,
    private readonly send: (event: WatchEvent) => void,
    /** Called once the watch ended by itself (its run finished). */
    private readonly onEnd: () => void = () => {},
    /** The one namespace whose runs it sees (docs/security.md); undefined: every namespace. */
    private readonly namespace?: string,
  ) {
    this.pacer = new ProgressPacer(params.progressEveryMs, (event) => this.sendPaced(event));
  }

  /**
   * Starts listening and answers where the watch stands. The replay of `since` and any event of
   * the meantime are sent by `resume`, after the answer. Unknown run → -32011; a `since` ahead of
   * every event → -32602.
   */
  async open(): Promise<{ subscriptionId: string; cursor: string }> {
    const { runId } = this.params;
    const since = parseCursor(this.params.since);
    // A run of another namespace answers as an unknown one (docs/security.md).
    const state = runId === undefined ? undefined : await this.runs.watchedState(runId, { namespace: this.namespace });
    this.unlisten = this.runs.events.listen((event) => (this.buffered ? this.buffered.push(event) : this.onEvent(event)));
    let current: number;
    try {
      current = await this.runs.events.currentCursor();
    } catch (err) {
      this.close();
      throw err;
    }
    if (since !== undefined && since.run > current) {
      this.close();
      throw RpcError.invalidParams(`Invalid params for runs/watch: field "since": cursor ${this.params.since} is ahead of the newest event (${current})`, { since: this.params.since });
    }
    const from = since === undefined ? current : since.run;
    if (state !== undefined && this.params.items) this.watchItems(state, since?.items);
    // After the answer is written: the watcher knows the subscription before its first event.
    setImmediate(() => void this.resume(from, state).catch(() => this.close()));
    return { subscriptionId: this.id, cursor: this.cursorText(from) };
  }

  /** Replays the stored events after `from` (when resuming), then what arrived meanwhile, then goes live. */
  private async resume(from: number, state: RunState | undefined): Promise<void> {
    this.itemsReady = true;
    let cursor = from;
    if (this.params.since !== undefined) {
      for (;;) {
        const page = await this.runs.events.stored(cursor, REPLAY_PAGE);
        for (const event of page) {
          if (!this.closed) this.onEvent(event);
          cursor = event.cursor;
        }
        if (page.length < REPLAY_PAGE) break;
      }
    }
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    for (const event of buffered) if (event.cursor > cursor && !this.closed) this.onEvent(event);
    this.flushItems?.();
    // A watch of one run that finished before it began (or whose finish is no longer kept) gets that finish at once.
    if (state?.isTerminal && !this.finishSent && !this.closed) {
      this.pacer.emit({ cursor: Math.max(this.pacer.cursor, cursor), type: 'run.finished', run: state.snapshot() });
    }
  }

  /** The cursor as the watcher gets it: with `items`, the item events sent too. */
  private cursorText(cursor: number): string {
    return this.params.items ? `${cursor}:${this.itemsSent}` : String(cursor);
  }

  private onEvent(event: StoredRunEvent): void {
    if (this.closed || !this.wanted(event)) return;
    this.followed.add(event.runId);
    if (event.type === 'run.finished') this.flushItems?.();
    this.pacer.push({ cursor: event.cursor, type: event.type, run: event.run });
  }

  private wanted(event: StoredRunEvent): boolean {
    if (this.namespace !== undefined && event.namespace !== this.namespace) return false;
    const { runId, filter } = this.params;
    if (runId !== undefined) return event.runId === runId;
    if (filter === undefined) return true;
    if (event.type === 'run.finished' && this.followed.has(event.runId)) return true;
    return watchFilterMatches(event.run, filter);
  }

  private sendPaced(event: PacedEvent): void {
    if (this.closed) return;
    this.send({ cursor: this.cursorText(event.cursor), type: event.type, run: event.run });
    if (event.type === 'run.finished') {
      this.finishSent = true;
      this.followed.delete(event.run.runId);
      if (this.params.runId !== undefined) {
        this.close();
        this.onEnd();
      }
    }
  }

  private flushItems: (() => void) | undefined;

  /**
   * `items: true`: each item of the run as it settles, in completion order; resuming, from the
   * count of item events the cursor says were sent (the run's completion order is kept).
   */
  private watchItems(state: RunState, from: number | undefined): void {
    this.itemsSent = Math.min(from ?? settledCount(state), settledCount(state));
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      const upTo = settledCount(state);
      if (upTo <= this.itemsSent || this.closed || !this.itemsReady) return;
      const { results } = state.resultPage({ resultOrder: 'byCompletion', offset: this.itemsSent, limit: upTo - this.itemsSent });
      const run = state.snapshot();
      for (const item of results) {
        this.itemsSent++;
        this.send({ cursor: this.cursorText(this.pacer.cursor), type: 'item.finished', run, item });
      }
    };
    this.flushItems = flush;
    if (state.isTerminal) return;
    const listener = state.onItemSettled(() => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(flush);
    });
    this.stopItems = () => listener.dispose();
  }

  /** Ends the subscription: nothing more is sent. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten?.();
    this.stopItems?.();
    this.pacer.close();
    this.buffered = undefined;
  }
}

/** A `since` cursor: the run events' part, and on a watch with items the item events' count. */
function parseCursor(text: string | undefined): { run: number; items?: number } | undefined {
  if (text === undefined) return undefined;
  const [run, items] = text.split(':');
  return { run: Number(run), ...(items !== undefined && { items: Number(items) }) };
}

function settledCount(state: RunState): number {
  const c = state.counts;
  return c.total - c.pending - c.running;
}
