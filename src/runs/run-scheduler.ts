import type { Span } from '@opentelemetry/api';
import { ErrorCodes, type FlowResult, type RunDefaults, type StepTiming } from '../../protocol/index.js';
import type { CompiledFlow } from '../flow/compile.js';
import {
  startItem, type ItemExecutionOptions, type ItemOutcome, type ItemSink, type RunningItem, type StepInvoker, type TransportRetries,
} from '../executor/item-executor.js';
import { yieldToEventLoop } from '../event-loop.js';
import type { CallCounts } from '../calls/call-counts.js';
import type { Logger } from '../log.js';
import type { RunState } from './run-state.js';
import { storableResult } from './data-depth.js';
import { endWithResult, startItemSpan } from './tracing.js';
import { unwatchAbort, watchAbort, type AbortWaiter } from '../signals/abort-watch.js';

/** Item completions between two turns given to the event loop, and workers launched per turn. */
const YIELD_EVERY_ITEMS = 256;

/**
 * Where a run's workers take the index of the next item to start: the whole run in order today;
 * a source fed from claimed chunks of a run would do as well.
 */
export interface ItemSource {
  /** True while an item is left to take. */
  hasNext(): boolean;
  /** The next item's index; called only after `hasNext()` returned true. */
  next(): number;
}

/** Items `0 … end-1` in order: a run executed wholly by this process, or one chunk of a run. */
export class IndexRange implements ItemSource {
  private index = 0;

  constructor(private readonly end: number) {}

  hasNext(): boolean {
    return this.index < this.end;
  }

  next(): number {
    return this.index++;
  }
}

/** Workers of a run: `maxConcurrency` (at least 1), never more than its items. */
export function workersFor(maxConcurrency: number, items: number): number {
  return Math.min(Math.max(1, maxConcurrency), items);
}

/** One run to execute: its state, flow and inputs, which items to take, and how many at once. */
export interface ScheduledRun {
  state: RunState;
  compiled: CompiledFlow;
  /** Inputs by item index (of `state`). */
  inputs: readonly unknown[];
  /**
   * The run's index of `state`'s item 0: a cluster node executes a chunk of a run as a state of
   * the chunk's items (docs/cluster.md); components and logs see the run's index. Default 0.
   */
  indexOffset?: number;
  items: ItemSource;
  workers: number;
  variables: Record<string, unknown>;
  /** The run's defaults for its component calls, under each step's own (docs/precedence.md). */
  defaults?: RunDefaults;
  /** Aborts every running item of the run (its cancel); no item starts after. */
  signal: AbortSignal;
  /** The run's span when tracing records: each item gets a child span. */
  span?: Span;
}

export interface RunSchedulerOptions {
  invoke: StepInvoker;
  transportRetries: TransportRetries;
  /** The config's `variables:`: values of `$variable` when nothing else gives one (docs/precedence.md). */
  configVariables?: Record<string, unknown>;
  now: () => number;
  logger: Logger;
  /** A promise while the journal is too far behind to take more items, else undefined. */
  backpressure: () => Promise<void> | undefined;
  /** Where every component call of every item is counted. */
  callCounts?: CallCounts;
}

/**
 * The one place that decides which item runs next: each run gets a pool of workers taking items
 * from its source, and every run pauses together for a turn of the event loop every
 * `YIELD_EVERY_ITEMS` completions (components that answer without I/O would otherwise chain
 * microtasks for a whole run), or until the journal catches up.
 */
export class RunScheduler {
  /** Item completions since the event loop last had a turn. */
  private sinceYield = 0;
  /** Set while every worker waits one turn of the event loop. */
  pause: Promise<void> | undefined;

  constructor(readonly options: RunSchedulerOptions) {}

  /** Executes the run's items; resolves once none is left to start or running. */
  async schedule(run: ScheduledRun): Promise<void> {
    await new RunWorkers(this, run).execute();
    const { state } = run;
    if (state.isTerminal) this.options.logger.debug({ runId: state.runId, status: state.status, items: state.counts }, 'run finished');
  }

  /** Counts a finished item; every `YIELD_EVERY_ITEMS` sets `pause`. */
  itemFinished(): void {
    if (++this.sinceYield < YIELD_EVERY_ITEMS) return;
    this.sinceYield = 0;
    this.pause ??= (this.options.backpressure() ?? yieldToEventLoop()).then(() => {
      this.pause = undefined;
    });
  }
}

/**
 * The workers of one run. Callback-driven rather than `workers` async loops awaiting a promise
 * per item: an item's completion finishes it and starts the next one in the same microtask (one
 * promise and one hop less per item), and its running items are cancelled by one abort listener
 * for the whole run instead of one watch per item. It is the sink of every item it starts.
 */
class RunWorkers implements ItemSink {
  /** Items started and not yet finished (at most `workers`). */
  private active = 0;
  /** Workers launched so far (`YIELD_EVERY_ITEMS` per turn of the event loop), and how many wait for an item. */
  private launched = 0;
  private idle = 0;
  /** Set while `pump` waits for the scheduler's pause. */
  private paused = false;
  /** `signal.aborted`, kept by a listener: the getter costs more than a field, twice per item. */
  private aborted: boolean;
  /**
   * Sets `aborted` when the run's signal aborts. It waits on the signal before any item, so it is
   * told first (items are told after it, oldest first), and it keeps the signal's one listener
   * while no item runs.
   */
  private readonly abortFlag: AbortWaiter = {
    abortWatch: undefined,
    prev: undefined,
    next: undefined,
    aborted: () => {
      this.aborted = true;
    },
  };
  /** Item spans by index, only when tracing. */
  private readonly spans: Map<number, Span> | undefined;
  /** One options object for every item of the run: startItem reads the per-item fields at once. */
  private readonly itemOptions: ItemExecutionOptions;
  private readonly now: () => number;
  /** The run's index of the state's item 0 (see `ScheduledRun.indexOffset`). */
  private readonly offset: number;
  private allDone!: () => void;

  constructor(private readonly scheduler: RunScheduler, private readonly run: ScheduledRun) {
    const { runId, flowId } = run.state.identity;
    const { invoke, now, callCounts, configVariables } = scheduler.options;
    // The run's defaults win over the plugin's and the config's (docs/precedence.md).
    const transportRetries = run.defaults?.transportRetries ?? scheduler.options.transportRetries;
    const callTimeoutMs = run.defaults?.timeoutMs;
    this.now = now;
    this.offset = run.indexOffset ?? 0;
    this.aborted = run.signal.aborted;
    this.spans = run.span ? new Map() : undefined;
    this.itemOptions = {
      runId, itemIndex: 0, flowId, variables: run.variables, invoke, signal: run.signal, transportRetries, firstAttempt: 1, traceContext: undefined, callCounts,
      callTimeoutMs, configVariables,
      // Step records of every item, not only of failed ones (docs/protocol.md, `runs/items`).
      recordSteps: run.state.identity.recordSteps === true,
    };
  }

  /** Launches the workers, `YIELD_EVERY_ITEMS` per turn of the event loop, and waits for them all. */
  async execute(): Promise<void> {
    const finished = new Promise<void>((resolve) => (this.allDone = resolve));
    // Running items wait on the run's signal too: one abort listener cancels them all.
    if (!this.aborted) watchAbort(this.run.signal, this.abortFlag);
    const { workers } = this.run;
    while (this.launched < workers) {
      const batch = Math.min(YIELD_EVERY_ITEMS, workers - this.launched);
      this.launched += batch;
      this.idle += batch;
      this.pump(); // starts an item per new worker at once
      if (this.launched < workers) await yieldToEventLoop();
    }
    if (workers === 0) this.allDone(); // a run of no items
    await finished;
    unwatchAbort(this.abortFlag);
  }

  /**
   * Starts items while a launched worker is idle and items are left; items known at once finish
   * in the loop (the worker goes on with the next one, as an async loop would).
   */
  private pump(): void {
    const { state, items } = this.run;
    while (this.idle > 0 && items.hasNext() && !this.aborted) {
      const pause = this.scheduler.pause;
      if (pause) {
        if (!this.paused) {
          this.paused = true;
          void pause.then(() => this.resume());
        }
        return;
      }
      const index = items.next();
      // A resumed item that was running before the restart runs again as attempt + 1.
      const firstAttempt = state.attemptsOf(index) + 1;
      if (!state.startItem(index, firstAttempt, this.now())) continue;
      const started = this.startOne(index, firstAttempt);
      if ('result' in started) this.finish(index, started.result, started.attempts, started.steps);
      else {
        this.idle--;
        this.active++;
        watchAbort(this.run.signal, started);
      }
    }
    if (this.active === 0 && this.launched === this.run.workers && !this.paused) this.allDone();
  }

  private resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Starts one item (with its span when tracing): its outcome when known at once, else the running item. */
  private startOne(index: number, firstAttempt: number): ItemOutcome | RunningItem {
    const { run, itemOptions } = this;
    const itemSpan = run.span ? startItemSpan(run.span, itemOptions.runId, index + this.offset) : undefined;
    if (itemSpan) this.spans!.set(index, itemSpan.span);
    try {
      itemOptions.itemIndex = index + this.offset;
      itemOptions.firstAttempt = firstAttempt;
      itemOptions.traceContext = itemSpan?.context;
      return startItem(run.compiled, run.inputs[index], itemOptions, this);
    } catch (err) {
      return { result: this.itemThrew(err, index), attempts: firstAttempt };
    }
  }

  itemSettled(item: RunningItem, result: FlowResult, attempts: number): void {
    unwatchAbort(item);
    this.active--;
    this.idle++;
    try {
      this.finish(item.itemIndex - this.offset, result, attempts, item.steps);
    } catch (err) {
      this.scheduler.options.logger.error({ err, runId: this.itemOptions.runId, itemIndex: item.itemIndex }, 'finishing an item threw');
    }
    this.pump();
  }

  private finish(index: number, outcome: FlowResult, attempts: number, steps: StepTiming[] | undefined): void {
    const { state } = this.run;
    const result = storableResult(outcome, this.itemOptions.runId, index + this.offset);
    const cancelled = this.aborted && result.outcome === 'failed' && result.error.code === ErrorCodes.RequestCancelled;
    const span = this.spans?.get(index);
    if (span) {
      this.spans!.delete(index);
      endWithResult(span, result, cancelled ? 'cancelled' : result.outcome);
    }
    if (cancelled) state.finishItem(index, 'cancelled', undefined, attempts, this.now());
    else if (result.outcome === 'failed') state.finishItem(index, 'failed', result, attempts, this.now(), steps);
    // A successful item keeps its step records only when the run records every item's.
    else state.finishItem(index, 'success', result, attempts, this.now(), this.itemOptions.recordSteps ? steps : undefined);
    this.scheduler.itemFinished();
  }

  /** startItem turns flow-level failures into results; a throw is a bug, kept from killing the run. */
  private itemThrew(err: unknown, index: number): FlowResult {
    this.scheduler.options.logger.error({ err, runId: this.itemOptions.runId, itemIndex: index + this.offset }, 'item execution threw');
    return { outcome: 'failed', error: { code: ErrorCodes.InternalError, message: String((err as Error)?.message ?? err) } };
  }
}
