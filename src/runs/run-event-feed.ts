import type { RunStatus } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { RunEventLog, RunEventRecord, StoredRunEvent, StoredRunEventType } from '../statestore/run-event-log.js';
import type { RunRecord } from '../statestore/state-store.js';
import type { RunState } from './run-state.js';
import { ChunkRunEvents, type SharedEvents } from './chunk-run-events.js';
import { EventLogTail } from './event-log-tail.js';
import { namespaceOf } from './run-access.js';

export type { SharedEvents } from './chunk-run-events.js';
export type { StoredRunEvent } from '../statestore/run-event-log.js';

/** How long run events are kept for watchers that resume (docs/config.md, `events.retention`): 10 minutes. */
export const DEFAULT_EVENT_RETENTION_MS = 10 * 60 * 1000;
/** The finest progress the feed produces: at most one `run.progress` per run this often. */
export const FEED_PROGRESS_MS = 50;
/** A failed append is tried again after this long, its events kept in order. */
const APPEND_RETRY_MS = 1000;

/** Options of a {@link RunEventFeed}. */
export interface RunEventFeedOptions {
  log: RunEventLog;
  logger?: Logger;
  now?: () => number;
  /** Events older than this are pruned from the log. Default 10 minutes. */
  retentionMs?: number;
  /**
   * On a cluster: events are delivered by reading the shared log (what every node appended, in
   * cursor order), woken by hints and a periodic re-check, and runs executed in chunks report
   * through `followChunk` and `runsFinished`.
   */
  shared?: SharedEvents;
}

/**
 * The run-level events of the runs of this process (docs/events.md): created, started, progress
 * (at most one per run every {@link FEED_PROGRESS_MS}, and one with the final counters before
 * the finish) and finished. Each is appended to the state store's event log first and then handed
 * to the listeners with its cursor, in cursor order, so what a listener sees can be resumed from
 * the log. Items cost one flag check each: progress is read from the counters on a timer.
 */
export class RunEventFeed {
  private readonly log: RunEventLog;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly listeners = new Set<(event: StoredRunEvent) => void>();
  private pending: RunEventRecord[] = [];
  /** The append loop while it runs. */
  private appending: Promise<void> | undefined;
  private delivered = 0;
  private readonly pruner: ReturnType<typeof setInterval>;
  private closed = false;
  private readonly shared: SharedEvents | undefined;
  /** On a cluster: the reader of the shared log, and the events of the chunks run here. */
  private tail: EventLogTail | undefined;
  private readonly chunkEvents: ChunkRunEvents | undefined;
  /** Set by `drain`: an append that fails is dropped rather than retried, so stopping ends. */
  private draining = false;

  constructor(options: RunEventFeedOptions) {
    this.log = options.log;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.retentionMs = options.retentionMs ?? DEFAULT_EVENT_RETENTION_MS;
    this.shared = options.shared;
    if (this.shared) this.chunkEvents = new ChunkRunEvents(this.shared, (type, run, namespace) => this.emitStatus(type, run, namespace), this.logger);
    this.pruner = setInterval(() => void this.prune(), Math.min(60_000, Math.max(1000, this.retentionMs / 2)));
    this.pruner.unref();
  }

  /** The highest cursor handed to the listeners (a new watch starts after it). */
  get lastDelivered(): number {
    return this.delivered;
  }

  /** Where a watch without `since` starts: after every event delivered or stored so far. */
  async currentCursor(): Promise<number> {
    return Math.max(this.delivered, await this.log.lastCursor());
  }

  /** How many listeners are attached (open watches). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Hears every event from now on, with its cursor, until disposed. */
  listen(listener: (event: StoredRunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stored events after `cursor`, a page at a time (a resuming watch's replay). */
  stored(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    return this.log.after(cursor, limit);
  }

  /** A run was created (stored): `run.created`. */
  created(state: RunState): void {
    this.emit('run.created', state);
  }

  /**
   * Follows a run this process executes: `run.started` at its first item, `run.progress` while
   * items settle, the final progress and `run.finished` when it turns terminal.
   */
  follow(state: RunState): void {
    if (state.isTerminal) {
      this.finish(state);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastProgress = -1;
    const progress = (): void => {
      timer = undefined;
      const settled = state.counts.total - state.counts.pending - state.counts.running;
      if (settled === lastProgress || state.isTerminal) return;
      lastProgress = settled;
      this.emit('run.progress', state);
    };
    const started = (): void => {
      if (!state.isTerminal) this.emit('run.started', state);
    };
    if (state.status === 'running') started();
    else state.onFirstStart = started;
    const settled = state.onItemSettled(() => {
      timer ??= setTimeout(progress, FEED_PROGRESS_MS);
    });
    state.onTerminal(() => {
      if (timer !== undefined) clearTimeout(timer);
      settled.dispose();
      state.onFirstStart = undefined;
      this.finish(state);
    });
  }

  private finish(state: RunState): void {
    this.emit('run.progress', state);
    this.emit('run.finished', state);
  }

  private emit(type: StoredRunEventType, state: RunState): void {
    this.emitStatus(type, state.snapshot(), namespaceOf(state.identity));
  }

  private emitStatus(type: StoredRunEventType, run: RunStatus, namespace: string): void {
    if (this.closed) return;
    this.pending.push({ type, runId: run.runId, namespace, at: this.now(), run });
    this.appending ??= this.append();
  }

  /** Appends what is pending, one batch at a time, and delivers each batch with its cursors. */
  private async append(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.closed) {
        const batch = this.pending;
        this.pending = [];
        let cursors: number[];
        try {
          cursors = await this.log.append(batch);
        } catch (err) {
          if (this.draining) {
            this.logger.warn({ err, events: batch.length }, `cannot store ${batch.length} run events while stopping; dropped`);
            continue;
          }
          this.logger.warn({ err, events: batch.length }, `cannot store ${batch.length} run events; retrying in ${APPEND_RETRY_MS} ms`);
          this.pending = batch.concat(this.pending);
          await new Promise((resolve) => setTimeout(resolve, APPEND_RETRY_MS).unref());
          continue;
        }
        // On a cluster, the shared log is read in cursor order: every node's events, this one's too.
        if (this.tail) void this.tail.poll();
        else for (let i = 0; i < batch.length && i < cursors.length; i++) this.deliver({ ...batch[i], cursor: cursors[i] });
      }
    } finally {
      this.appending = undefined;
    }
  }

  private deliver(event: StoredRunEvent): void {
    this.delivered = Math.max(this.delivered, event.cursor);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err }, 'a run event listener failed');
      }
    }
  }

  private async prune(): Promise<void> {
    try {
      await this.log.prune(this.now() - this.retentionMs);
    } catch (err) {
      this.logger.warn({ err }, 'cannot prune old run events');
    }
  }

  /** Resolves once every event emitted so far is stored and delivered; from now on a failed append is not retried. */
  async drain(): Promise<void> {
    this.draining = true;
    while (this.appending !== undefined) await this.appending;
  }

  /** Stops pruning and appending; events emitted from now on are dropped. */
  close(): void {
    this.closed = true;
    clearInterval(this.pruner);
    this.tail?.close();
    this.chunkEvents?.close();
  }

  /** On a cluster: starts delivering what any node appends from now on. */
  async startTail(): Promise<void> {
    if (this.shared === undefined) return;
    const shared = this.shared;
    this.tail = new EventLogTail(this.log, (event) => this.deliver(event), this.now, this.logger);
    await this.tail.start((wake) => shared.onEventsAppended(wake));
  }

  /** On a cluster: follows one chunk of a run this node executes (`ChunkRunEvents`). */
  followChunk(record: RunRecord, state: RunState): void {
    this.chunkEvents?.followChunk(record, state);
  }

  /** On a cluster: runs this node finished get their final progress and `run.finished`. */
  runsFinished(runIds: readonly string[]): void {
    this.chunkEvents?.runsFinished(runIds);
  }
}
