import type { RunStatus } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { StoredRunEventType } from '../statestore/run-event-log.js';
import type { RunRecord } from '../statestore/state-store.js';
import type { RunState } from './run-state.js';
import { runStatusOf } from './run-status.js';
import type { SharedRunProgress } from './shared-work.js';
import { namespaceOf } from './run-access.js';

/** At most one `run.progress` per run per node this often (each reads the run's counters from the database). */
const CLUSTER_PROGRESS_MS = 250;
/** Finished runs remembered, so progress reads still in flight for them are dropped. */
const FINISHED_KEPT = 10_000;

/** What the events of runs executed in chunks need of a cluster (docs/events.md, "On a cluster"). */
export interface SharedEvents {
  /** Calls `listener` when any node appended run events (a hint). */
  onEventsAppended(listener: () => void): void;
  /** A run's counters from the database. */
  runProgress(runId: string): Promise<SharedRunProgress | undefined>;
  /** A run's status as stored and its namespace (for its `run.finished`). */
  finishedRun(runId: string): Promise<{ run: RunStatus; namespace: string }>;
}

/**
 * The run events of a cluster node's chunks: the first item started here makes the run's
 * `run.started` (the log keeps one per run), items settling make `run.progress` with the counters
 * of every node, and a run this node finished gets its final progress and `run.finished`.
 */
export class ChunkRunEvents {
  private readonly startedRuns = new Set<string>();
  private readonly finishedRuns = new Set<string>();
  private readonly progressTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** `run.started` emissions still reading their counters: a run's `run.finished` waits for its own. */
  private readonly starting = new Map<string, Promise<void>>();

  constructor(
    private readonly shared: SharedEvents,
    private readonly emit: (type: StoredRunEventType, run: RunStatus, namespace: string) => void,
    private readonly logger: Logger,
  ) {}

  /** Follows one chunk of a run this node executes, `state` holding the chunk's items. */
  followChunk(record: RunRecord, state: RunState): void {
    if (state.isTerminal) return;
    const runId = record.runId;
    if (!this.startedRuns.has(runId)) {
      state.onFirstStart = () => {
        if (this.startedRuns.has(runId)) return;
        this.startedRuns.add(runId);
        const started = this.counted('run.started', record).finally(() => this.starting.delete(runId));
        this.starting.set(runId, started);
      };
    }
    const settled = state.onItemSettled(() => {
      if (this.progressTimers.has(runId)) return;
      const timer = setTimeout(() => {
        this.progressTimers.delete(runId);
        void this.counted('run.progress', record);
      }, CLUSTER_PROGRESS_MS);
      timer.unref();
      this.progressTimers.set(runId, timer);
    });
    state.onTerminal(() => settled.dispose());
  }

  /**
   * Emits `type` with the run's counters as the database has them, unless the run has finished:
   * a `run.started` still goes out when this node finished the run (a short run may end before its
   * counters are read), ahead of the `run.finished` that waits for it.
   */
  private async counted(type: 'run.started' | 'run.progress', record: RunRecord): Promise<void> {
    const runId = record.runId;
    try {
      const progress = await this.shared.runProgress(runId);
      if (progress === undefined) return;
      const finished = progress.completedAt !== undefined || this.finishedRuns.has(runId);
      if (finished && (type === 'run.progress' || !(await this.finishedHere(runId)))) return;
      const status = type === 'run.started' || progress.counts.pending < progress.counts.total ? 'running' : 'pending';
      this.emit(type, runStatusOf(record, status, progress.counts, undefined, undefined), namespaceOf(record));
    } catch (err) {
      this.logger.warn({ err, runId }, `cannot read the counters of run ${runId} for its events`);
    }
  }

  /**
   * Whether this node finished the run: its completion's commit may be seen by a read on another
   * connection a moment before the node hears of it, so that is given one turn of the event loop.
   */
  private async finishedHere(runId: string): Promise<boolean> {
    if (this.finishedRuns.has(runId)) return true;
    await new Promise((resolve) => setImmediate(resolve));
    return this.finishedRuns.has(runId);
  }

  /** Runs this node finished: their final progress and `run.finished`, after their `run.started`. */
  runsFinished(runIds: readonly string[]): void {
    for (const runId of runIds) {
      clearTimeout(this.progressTimers.get(runId));
      this.progressTimers.delete(runId);
      this.startedRuns.delete(runId);
      if (this.finishedRuns.size >= FINISHED_KEPT) this.finishedRuns.clear();
      this.finishedRuns.add(runId);
      const started = this.starting.get(runId) ?? Promise.resolve();
      started.then(() => this.shared.finishedRun(runId)).then(
        ({ run, namespace }) => {
          this.emit('run.progress', run, namespace);
          this.emit('run.finished', run, namespace);
        },
        (err: unknown) => this.logger.warn({ err, runId }, `cannot read finished run ${runId} for its events`),
      );
    }
  }

  close(): void {
    for (const timer of this.progressTimers.values()) clearTimeout(timer);
    this.progressTimers.clear();
  }
}
