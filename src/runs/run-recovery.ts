import { ErrorCodes, RpcError, type FlowResult, type Overrides } from '../../protocol/index.js';
import type { CompiledFlow } from '../flow/compile.js';
import { yieldToEventLoop } from '../event-loop.js';
import type { Logger } from '../log.js';
import type { LoadedRun, RunRecord, StateStore } from '../statestore/state-store.js';
import type { ActiveRun, RunRegistry } from './run-registry.js';
import { RunState } from './run-state.js';
import { cancelStaleChildren } from './stale-children.js';

export interface RunRecoveryOptions {
  store: StateStore;
  registry: RunRegistry;
  logger: Logger;
  now: () => number;
  /** The compiled flow of a stored run, with its overrides applied. */
  compile: (flowId: string, overrides: Overrides | undefined) => Promise<CompiledFlow>;
  /** Starts executing what is left of a resumed run. */
  execute: (run: ActiveRun, compiled: CompiledFlow, inputs: readonly unknown[], record: RunRecord) => void;
}

/**
 * Resumes the unfinished runs of an earlier process (docs/state-stores.md): one run per turn of
 * the event loop, a child after its parent, stale children of items that run again cancelled,
 * and the finish of a run whose items were all stored settled recorded.
 */
export class RunRecovery {
  /** Unfinished runs of an earlier process not resumed yet, and the resumption under way. */
  private readonly toResume = new Map<string, Promise<void> | undefined>();
  /** Set by `stop`: runs not resumed yet stay as they are for the next process. */
  private stopping = false;

  constructor(private readonly options: RunRecoveryOptions) {}

  /**
   * Resumes every unfinished run of the state store: finished items keep their results, items
   * that were running run again with `attempt + 1`, runs whose cancel was requested finish
   * cancelling; unfinished child runs of items that run again are cancelled (their new attempt
   * submits its own). A run asked for (`waits`) before its turn resumes at once. Resolves, with
   * how many runs there were, once all have resumed.
   */
  async recover(): Promise<number> {
    const { store, registry } = this.options;
    const ids = (await store.unfinishedRuns()).filter((runId) => registry.live(runId) === undefined);
    for (const runId of ids) if (!this.toResume.has(runId)) this.toResume.set(runId, undefined);
    for (const runId of ids) {
      await yieldToEventLoop();
      if (this.stopping) break;
      await this.resume(runId);
    }
    return ids.length;
  }

  /** Stops resuming: runs not resumed yet stay as they are for the next process. */
  stop(): void {
    this.stopping = true;
  }

  /** True when the run is of an earlier process and waits for its turn to resume. */
  waits(runId: string): boolean {
    return this.toResume.has(runId);
  }

  /** Resumes a run of an earlier process if it still waits for that (once, however often asked). */
  resume(runId: string): Promise<void> {
    if (!this.toResume.has(runId)) return Promise.resolve();
    let resuming = this.toResume.get(runId);
    if (resuming === undefined) {
      resuming = this.resumeRun(runId)
        .catch((err: unknown) => this.options.logger.error({ err, runId }, `cannot resume run ${runId}: ${(err as Error)?.message ?? String(err)}`))
        .finally(() => this.toResume.delete(runId));
      this.toResume.set(runId, resuming);
    }
    return resuming;
  }

  /** Loads a stored unfinished run (after its parent) and executes what is left of it. */
  private async resumeRun(runId: string): Promise<void> {
    const { store, registry } = this.options;
    let loaded = await store.loadRun(runId);
    if (!loaded || registry.live(runId)) return;
    if (loaded.record.parentRunId !== undefined) {
      // Its parent first, so that cancelling the parent reaches it. Resuming the parent may cancel
      // this run (a child of an item that runs again), so it is read again after.
      await this.resume(loaded.record.parentRunId);
      loaded = await store.loadRun(runId);
      if (!loaded || registry.live(runId)) return;
    }
    const { parentRunId } = loaded.record;
    const depth = parentRunId === undefined ? 0 : (await registry.depthOf(parentRunId)) + 1;
    const stale = await cancelStaleChildren(store, loaded);
    if (stale.length > 0) this.options.logger.info({ runId, childRunIds: stale }, 'cancelling child runs of items that run again');
    await this.restart(loaded, depth);
  }

  /** Makes a loaded run live again: finishes it, cancels it, or executes its items left. */
  private async restart(loaded: LoadedRun, depth: number): Promise<void> {
    const { store, registry } = this.options;
    const { record } = loaded;
    const state = restoreState(loaded);
    // Every item was stored settled, but not the run's finish (a crash in between): record it now.
    if (state.isTerminal) {
      registry.activate(state, undefined, depth, false);
      state.journal?.runFinished(state.status, state.finishedAtMs!);
      return;
    }
    if (state.isCancelRequested) {
      void registry.cancel(registry.activate(state, undefined, depth, false));
      return;
    }
    const inputs = await store.loadInputs(record.runId);
    let compiled: CompiledFlow | undefined;
    let failure: FlowResult | undefined;
    try {
      compiled = await this.options.compile(record.flowId, record.overrides);
    } catch (err) {
      failure = { outcome: 'failed', error: err instanceof RpcError ? err.toObject() : { code: ErrorCodes.InternalError, message: String(err) } };
    }
    const run = registry.activate(state, undefined, depth, false);
    if (compiled === undefined) {
      run.state.failToStart(failure!, this.options.now());
      return;
    }
    this.options.logger.debug({ runId: record.runId, items: record.total, remaining: run.state.counts.pending }, 'resuming run');
    this.options.execute(run, compiled, inputs, record);
  }
}

/** A RunState rebuilt from the store; `keepRunning` for a view of a run other processes may be executing. */
export function restoreState(loaded: LoadedRun, options: { keepRunning?: boolean } = {}): RunState {
  const { record, state, items } = loaded;
  return RunState.restore({ ...record }, items, state.cancelRequested, state.completedAt, options);
}
