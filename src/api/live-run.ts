import type { Disposable } from 'vscode-jsonrpc';
import type { ItemCounts, ItemResult, ResultOrder, RunStatus, Status } from '../../protocol/index.js';
import type { RunManager } from '../runs/run-manager.js';
import type { RunState } from '../runs/run-state.js';

/**
 * A run of this process, watched as it runs: what a program embedding the runtime (the CLI's
 * `flowrun run`) streams results and draws progress from, without reaching into the run layer.
 * Everything is read from memory at once; the run goes on whatever the watcher does.
 */
export class LiveRun {
  constructor(
    private readonly runs: RunManager,
    private readonly state: RunState,
  ) {}

  get runId(): string {
    return this.state.runId;
  }

  /** How many items the run has. */
  get total(): number {
    return this.state.identity.total;
  }

  /** The counters by status, as they are now (a live object: read it, do not keep it). */
  get counts(): Readonly<ItemCounts> {
    return this.state.counts;
  }

  /** One item's status now. */
  itemStatus(index: number): Status {
    return this.state.itemStatusOf(index);
  }

  /** The item results from `offset` (up to `limit`) in `order`, as they are now. */
  results(options: { order?: ResultOrder; offset?: number; limit?: number } = {}): ItemResult[] {
    return this.state.resultPage({ resultOrder: options.order, offset: options.offset, limit: options.limit }).results;
  }

  /** Calls `listener` after each item settles, until disposed. */
  onItemSettled(listener: () => void): Disposable {
    return this.state.onItemSettled(listener);
  }

  /** Resolves once the run is terminal. */
  finished(): Promise<void> {
    return this.runs.waitTerminal(this.state);
  }

  /** Cancels the run (and its children); finished results are kept. */
  cancel(): Promise<RunStatus> {
    return this.runs.cancel(this.runId);
  }
}

/** A watch on a run this process holds in memory, or undefined (unknown, or of an earlier process). */
export function watchRun(runs: RunManager, runId: string): LiveRun | undefined {
  const state = runs.state(runId);
  return state === undefined ? undefined : new LiveRun(runs, state);
}
