import type { Context } from '@opentelemetry/api';
import type { FlowError, FlowResult, StepTiming } from '../../protocol/index.js';
import type { CompiledFlow, CompiledStep } from '../flow/compile.js';
import type { CoalesceExpr, Expr, IfExpr, ObjectExpr, ArrayExpr, StepExpr, VariableExpr } from '../flow/expressions.js';
import { NOT_FOUND, selectPath, type CompiledPath } from '../flow/paths.js';
import { ComponentError } from '../calls/component-error.js';
import type { ExecutionScope } from '../calls/plugin.js';
import type { CallCounts } from '../calls/call-counts.js';
import {
  CANCELLED, internalFailure, NULL_RESULT, pathNotFound, SKIPPED, stepFailure, variableNotDefined,
} from './failures.js';
import { unwatchAbort, watchAbort, type AbortWaiter } from '../signals/abort-watch.js';
import { abortableSleep } from './sleep.js';

/**
 * Executes one item of a compiled flow (docs/flows.md). Demand-driven: evaluating `output`
 * (and the `mustExecute` steps) starts exactly the steps it needs; a step starts as soon as
 * its inputs are known, so independent steps run concurrently, and each runs at most once.
 *
 * Evaluation returns a FlowResult synchronously whenever everything it needs is already known
 * and a Promise only when it must wait for a step, so constant and input-only parts of a flow
 * cost no promises. Results are shared and may be frozen: treat them as immutable.
 */

export interface StepInvocation {
  stepId: string;
  /** The component path as written in the flow, e.g. `/mock/one_output` (routing is the invoker's job). */
  component: string;
  input: unknown;
  attempt: number;
  signal?: AbortSignal;
  scope: ExecutionScope;
  /** OpenTelemetry context of the item's span, parent of the call's span (unset when not tracing). */
  traceContext?: Context;
  /** The step's own per-call timeout, overriding the plugin's. */
  timeoutMs?: number;
}

/** Calls a component; rejects with ComponentError (src/plugins/component-error.ts) when the call failed. */
export type StepInvoker = (inv: StepInvocation) => Promise<FlowResult>;

export interface ItemExecutionOptions {
  runId: string;
  itemIndex: number;
  flowId: string;
  /** Values for `$variable`; fall back to the variables schema defaults. */
  variables?: Record<string, unknown>;
  /** The config's `variables:`, the last resort of `$variable`, after the expression's `default` (docs/precedence.md). */
  configVariables?: Record<string, unknown>;
  /** The run's per-call timeout, for steps without their own `timeoutMs` (docs/precedence.md). */
  callTimeoutMs?: number;
  invoke: StepInvoker;
  /** Aborting settles the item at once as cancelled (-32800) and is passed on to in-flight calls. */
  signal?: AbortSignal;
  /**
   * Retries of a call that failed with a transport failure (-32005): a number, or a lookup by
   * component and input (the plugin serving it decides). Default 3.
   */
  transportRetries?: TransportRetries;
  /** The attempt number of the first call of each step. Default 1. */
  firstAttempt?: number;
  /** OpenTelemetry context of the item's span, handed to every invocation. */
  traceContext?: Context;
  /** Where every component call is counted by component and outcome (`GET /metrics`, docs/serve.md). */
  callCounts?: CallCounts;
  /**
   * Keep a record of every step called (docs/protocol.md, `runs/items`). Default false: only steps
   * whose calls failed are recorded, for the item's caller to keep when the item fails.
   */
  recordSteps?: boolean;
}

/** How many transport retries a call gets: fixed, or per component (its plugin's setting). */
export type TransportRetries = number | ((component: string, input: unknown) => number);

export interface ItemOutcome {
  result: FlowResult;
  /** The highest attempt number used by any call of this item, ≥ firstAttempt. */
  attempts: number;
  /** Step records (see `ItemExecutionOptions.recordSteps`); undefined when none were made. */
  steps?: StepTiming[];
}

const DEFAULT_TRANSPORT_RETRIES = 3;

/** Executes one item; never rejects: every failure, including cancellation, is a failed FlowResult. */
export function executeItem(flow: CompiledFlow, input: unknown, options: ItemExecutionOptions): Promise<ItemOutcome> {
  const firstAttempt = options.firstAttempt ?? 1;
  const signal = options.signal;
  if (signal?.aborted) return Promise.resolve({ result: CANCELLED, attempts: firstAttempt });
  const item = new ItemExecution(flow, input, options, firstAttempt);
  if (!signal) {
    const pending = item.start();
    return pending instanceof Promise
      ? pending.then(
          (result) => ({ result, attempts: item.attempts }),
          (err: unknown) => ({ result: internalFailure(err), attempts: item.attempts }),
        )
      : Promise.resolve({ result: pending, attempts: item.attempts });
  }
  // Settle on abort without waiting for in-flight calls or backoffs; they see the signal themselves.
  return new Promise<ItemOutcome>((resolve) => item.watch(signal, resolve));
}

/** Told when a started item (see `startItem`) settles. */
export interface ItemSink {
  /** The item's result and the highest attempt number any of its calls used (as in ItemOutcome). */
  itemSettled(item: RunningItem, result: FlowResult, attempts: number): void;
}

/**
 * An item still executing after `startItem`: its caller cancels it with `aborted()`, typically by
 * letting it wait on the run's signal (`watchAbort`) with the run's other items.
 */
export interface RunningItem extends AbortWaiter {
  readonly itemIndex: number;
  /** Step records made so far (see `ItemExecutionOptions.recordSteps`). */
  readonly steps: StepTiming[] | undefined;
  /** Settles the item at once as cancelled (-32800); no step starts after this. */
  aborted(): void;
}

/**
 * Starts one item for a caller that drives many (the RunManager's scheduler): returns the
 * outcome when it is known at once, else the running item, whose outcome goes to
 * `sink.itemSettled` exactly once. Unlike `executeItem`, it does not watch `options.signal`
 * (the caller cancels its running items itself, with one abort listener for all of them) and
 * makes no promise for the outcome: one microtask and one Set entry less per item on the hot path.
 * It reads the per-item options (`itemIndex`, `firstAttempt`, `traceContext`) at once, so a caller
 * starting many items of a run may pass one options object, updated before each call.
 */
export function startItem(flow: CompiledFlow, input: unknown, options: ItemExecutionOptions, sink: ItemSink): ItemOutcome | RunningItem {
  const firstAttempt = options.firstAttempt ?? 1;
  if (options.signal?.aborted) return { result: CANCELLED, attempts: firstAttempt };
  const item = new ItemExecution(flow, input, options, firstAttempt);
  const pending = item.start();
  if (!(pending instanceof Promise)) return item.steps === undefined ? { result: pending, attempts: item.attempts } : { result: pending, attempts: item.attempts, steps: item.steps };
  item.sink = sink;
  item.settleWhen(pending);
  return item;
}

type Evaluated = FlowResult | Promise<FlowResult>;

const isPromise = (r: Evaluated): r is Promise<FlowResult> => r instanceof Promise;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Truthiness of `$if` and `skipIf`: a success whose value is neither null nor false. */
const isTruthy = (r: FlowResult): boolean => r.outcome === 'success' && r.value !== null && r.value !== undefined && r.value !== false;

/** The state of one item: each step's result once known, or its promise while running. */
class ItemExecution implements AbortWaiter, RunningItem {
  attempts: number;
  /** Set when the item's signal aborts: no step starts after that. */
  cancelled = false;
  /** Step records, made on the first one (see `ItemExecutionOptions.recordSteps`). */
  steps: StepTiming[] | undefined;
  /** While watching a signal: how the item's outcome is delivered, once. */
  private settle: ((outcome: ItemOutcome) => void) | undefined;
  /** Started by `startItem`: told the outcome once, then cleared. */
  sink: ItemSink | undefined;
  /** While waiting on a signal (`watch`, or its caller's `watchAbort`): its place among the signal's waiters. */
  abortWatch: AbortWaiter['abortWatch'];
  prev: AbortWaiter | undefined;
  next: AbortWaiter | undefined;
  private readonly results: Array<FlowResult | undefined>;
  private readonly running: Array<Promise<FlowResult> | undefined>;

  /** Per-item options, read at once: `startItem`'s caller may reuse its options object for the next item. */
  private readonly index: number;
  private readonly traceContext: Context | undefined;

  constructor(
    private readonly flow: CompiledFlow,
    private readonly input: unknown,
    private readonly options: ItemExecutionOptions,
    private readonly firstAttempt: number,
  ) {
    this.index = options.itemIndex;
    this.traceContext = options.traceContext;
    this.attempts = firstAttempt;
    this.results = new Array(flow.steps.length);
    this.running = new Array(flow.steps.length);
  }

  /**
   * Runs the item and delivers its outcome to `settle`, or a cancelled outcome as soon as
   * `signal` aborts (the item is then its signal's listener: no closures per item).
   */
  watch(signal: AbortSignal, settle: (outcome: ItemOutcome) => void): void {
    this.settle = settle;
    watchAbort(signal, this);
    const pending = this.start();
    if (pending instanceof Promise) this.settleWhen(pending);
    else this.finish(pending);
  }

  /**
   * Finishes with what `pending` settles with. It resolves with a FlowResult, or rejects on a bug
   * (see `start`): one closure serves both, made only for items that wait.
   */
  settleWhen(pending: Promise<FlowResult>): void {
    const settled = (value: unknown): void => this.finish(isFlowResult(value) ? value : internalFailure(value));
    void pending.then(settled, settled);
  }

  /** The signal aborted: settle as cancelled now. */
  aborted(): void {
    this.cancelled = true;
    this.deliver(CANCELLED);
  }

  get itemIndex(): number {
    return this.index;
  }

  private finish(result: FlowResult): void {
    unwatchAbort(this);
    this.deliver(result);
  }

  private deliver(result: FlowResult): void {
    const sink = this.sink;
    if (sink !== undefined) {
      this.sink = undefined;
      sink.itemSettled(this, result, this.attempts);
      return;
    }
    const settle = this.settle;
    this.settle = undefined;
    settle?.(this.steps === undefined ? { result, attempts: this.attempts } : { result, attempts: this.attempts, steps: this.steps });
  }

  /**
   * Runs the item; never throws (a bug in here becomes a failed result). A returned promise may
   * reject on such a bug: the caller turns that into `internalFailure` where it waits anyway,
   * saving every item a promise of its own.
   */
  start(): Evaluated {
    try {
      return this.run();
    } catch (err) {
      return internalFailure(err);
    }
  }

  /** Starts the mustExecute steps and evaluates the output; a failed mustExecute step fails the item. */
  private run(): Evaluated {
    const must = this.flow.mustExecute;
    if (must.length === 0) return this.evaluate(this.flow.output);
    const parts: Evaluated[] = must.map((i) => this.results[i] ?? this.startStep(i));
    parts.push(this.evaluate(this.flow.output));
    return parts.some(isPromise) ? Promise.all(parts).then(mustExecuteOutcome) : mustExecuteOutcome(parts as FlowResult[]);
  }

  private evaluate(expr: Expr): Evaluated {
    switch (expr.kind) {
      case 'const':
        return expr.result;
      case 'input':
        return select(this.input, expr.path, 'input');
      case 'step':
        return this.evaluateStep(expr);
      case 'variable':
        return this.evaluateVariable(expr);
      case 'if':
        return this.evaluateIf(expr);
      case 'coalesce':
        return this.evaluateCoalesce(expr, 0);
      case 'object':
        return this.evaluateAll(expr, expr.values);
      case 'array':
        return this.evaluateAll(expr, expr.items);
    }
  }

  private evaluateStep(expr: StepExpr): Evaluated {
    const r = this.results[expr.index] ?? this.startStep(expr.index);
    // Without a path the step's result is the value itself: no promise in between.
    if (expr.path.segments.length === 0) return r;
    return isPromise(r) ? r.then((res) => stepValue(res, expr)) : stepValue(r, expr);
  }

  private evaluateVariable(expr: VariableExpr): Evaluated {
    const vars = this.options.variables;
    let value: unknown;
    if (vars !== undefined && hasOwn(vars, expr.name)) value = vars[expr.name];
    else if (this.flow.variableDefaults.has(expr.name)) value = this.flow.variableDefaults.get(expr.name);
    else if (expr.fallback) return this.evaluate(expr.fallback);
    else if (this.options.configVariables !== undefined && hasOwn(this.options.configVariables, expr.name)) value = this.options.configVariables[expr.name];
    else return variableNotDefined(expr.name);
    if (expr.rest.segments.length === 0) return { outcome: 'success', value };
    const selected = selectPath(value, expr.rest);
    if (selected !== NOT_FOUND) return { outcome: 'success', value: selected };
    return expr.fallback ? this.evaluate(expr.fallback) : pathNotFound(expr.rest.text, `variable "${expr.name}"`);
  }

  /** Only the condition first, then only the chosen branch. A failed condition counts as false. */
  private evaluateIf(expr: IfExpr): Evaluated {
    const choose = (cond: FlowResult): Evaluated =>
      cond.outcome === 'skipped' ? SKIPPED : this.evaluate(isTruthy(cond) ? expr.then : expr.otherwise);
    const cond = this.evaluate(expr.condition);
    return isPromise(cond) ? cond.then(choose) : choose(cond);
  }

  /** One entry at a time: the first non-null success, or the first failure; skipped counts as null. */
  private evaluateCoalesce(expr: CoalesceExpr, from: number): Evaluated {
    for (let i = from; i < expr.items.length; i++) {
      const r = this.evaluate(expr.items[i]);
      if (isPromise(r)) return r.then((res) => (coalesceStops(res) ? res : this.evaluateCoalesce(expr, i + 1)));
      if (coalesceStops(r)) return r;
    }
    return NULL_RESULT;
  }

  /**
   * Element-wise; all entries start at once so their steps run concurrently. The first entry
   * (in order) that failed or was skipped decides; known at once when nothing before it waits.
   */
  private evaluateAll(expr: ObjectExpr | ArrayExpr, entries: readonly Expr[]): Evaluated {
    const parts = new Array<Evaluated>(entries.length);
    let waiting = false;
    for (let i = 0; i < entries.length; i++) {
      const r = this.evaluate(entries[i]);
      if (!waiting && !isPromise(r) && r.outcome !== 'success') return r;
      if (isPromise(r)) waiting = true;
      parts[i] = r;
    }
    return waiting ? Promise.all(parts).then((rs) => assemble(expr, rs)) : assemble(expr, parts as FlowResult[]);
  }

  /** Starts step `i` (once): skipIf first, then the input, then the component. */
  private startStep(i: number): Evaluated {
    const existing = this.running[i];
    if (existing) return existing;
    const r = this.cancelled ? CANCELLED : this.runStep(this.flow.steps[i]);
    if (isPromise(r)) this.running[i] = r;
    else this.results[i] = r;
    return r;
  }

  /**
   * A step's result. Every promise returned here records the result in `results` before it
   * resolves (the call does it itself), so later references read it without waiting.
   */
  private runStep(step: CompiledStep): Evaluated {
    if (!step.skipIf) return this.withInput(step);
    const cond = this.evaluate(step.skipIf);
    return isPromise(cond) ? cond.then((c) => this.record(step, this.afterSkipIf(step, c))) : this.afterSkipIf(step, cond);
  }

  /** Records a step's result known now; a pending call records its own. */
  private record(step: CompiledStep, r: Evaluated): Evaluated {
    if (!isPromise(r)) this.results[step.index] = r;
    return r;
  }

  /** A skipped skipIf skips the step (it needs a skipped step); a failed one counts as false. */
  private afterSkipIf(step: CompiledStep, cond: FlowResult): Evaluated {
    if (cond.outcome === 'skipped' || isTruthy(cond)) return SKIPPED;
    return this.withInput(step);
  }

  private withInput(step: CompiledStep): Evaluated {
    const input = this.evaluate(step.input);
    return isPromise(input) ? input.then((res) => this.record(step, this.callIfReady(step, res))) : this.callIfReady(step, input);
  }

  /** A failed or skipped input fails or skips the step without calling the component. */
  private callIfReady(step: CompiledStep, input: FlowResult): Evaluated {
    if (input.outcome !== 'success') return input;
    if (this.cancelled) return CANCELLED;
    return this.call(step, input.value);
  }

  /**
   * Calls the component. Most calls succeed at once: the first attempt costs one `then` and no
   * async frame; a failure or an invalid result continues in `callAgain`. Records the step's
   * result in `results` itself (see `runStep`).
   */
  private call(step: CompiledStep, input: unknown): Promise<FlowResult> {
    if (this.cancelled) return Promise.resolve(this.done(step, CANCELLED));
    const scope: ExecutionScope = {
      runId: this.options.runId, itemIndex: this.index, stepId: step.id, flowId: this.options.flowId,
    };
    const startedAt = Date.now();
    const first = this.invokeAttempt(step, input, scope, this.firstAttempt);
    return first.then(
      (result) => {
        this.options.callCounts?.answered(step.component, result);
        if (!isFlowResult(result) || result.outcome === 'failed') return this.callAgain(step, input, scope, first, startedAt);
        return this.options.recordSteps ? this.recorded(step, result, startedAt, 1) : this.done(step, result);
      },
      (err: unknown) => {
        this.options.callCounts?.rejected(step.component, err);
        return this.callAgain(step, input, scope, first, startedAt);
      },
    );
  }

  /** Records what a step's calls did (`attempts` calls since `startedAt`), then its result. */
  private recorded(step: CompiledStep, result: FlowResult, startedAt: number, attempts: number): FlowResult {
    const record: StepTiming = {
      stepId: step.id,
      component: step.component,
      status: result.outcome,
      startedAt,
      durationMs: Math.max(0, Date.now() - startedAt),
      attempts,
    };
    if (result.outcome === 'failed') record.error = stepError(result.error);
    (this.steps ??= []).push(record);
    return this.done(step, result);
  }

  /**
   * The rest of a call whose first attempt (`first`, settled) failed or was invalid: transport
   * retries (counted per step), then `onError`.
   */
  private async callAgain(step: CompiledStep, input: unknown, scope: ExecutionScope, first: Promise<FlowResult>, startedAt: number): Promise<FlowResult> {
    const signal = this.options.signal;
    const onError = step.onError;
    // Looked up on the first transport failure only: most calls never need it.
    let transportLeft: number | undefined;
    let retriesLeft = onError.action === 'retry' ? onError.maxRetries : 0;
    let backoffMs = onError.action === 'retry' ? onError.backoffMs : 0;
    let attempt = this.firstAttempt;
    let pending: Promise<FlowResult> | undefined = first;
    for (;;) {
      // The first attempt was counted when it settled (`call`); retries are counted here.
      const retry = pending === undefined;
      if (retry) {
        if (this.cancelled) return this.done(step, CANCELLED);
        pending = this.invokeAttempt(step, input, scope, attempt);
      }
      let result: FlowResult;
      let answered = false;
      try {
        result = await pending!;
        answered = true;
        if (retry) this.options.callCounts?.answered(step.component, result);
        if (!isFlowResult(result)) throw new Error(`component returned an invalid result (expected a FlowResult)`);
      } catch (err) {
        if (retry && !answered) this.options.callCounts?.rejected(step.component, err);
        if (this.cancelled) return this.done(step, CANCELLED);
        if (err instanceof ComponentError && err.isTransportFailure) {
          transportLeft ??= this.transportRetriesOf(step, input);
          if (transportLeft > 0) {
            transportLeft--;
            attempt++;
            pending = undefined;
            continue;
          }
        }
        result = stepFailure(step.id, step.component, err);
      }
      pending = undefined;
      // A step that got here had a call fail: it is recorded whatever happens next.
      const calls = attempt - this.firstAttempt + 1;
      if (result.outcome !== 'failed') return this.recorded(step, result, startedAt, calls);
      switch (onError.action) {
        case 'fail':
          return this.recorded(step, result, startedAt, calls);
        case 'useDefault':
          // The record says the calls failed; the flow goes on with the default.
          this.recorded(step, result, startedAt, calls);
          return this.done(step, onError.result);
        case 'skip':
          return this.recorded(step, SKIPPED, startedAt, calls);
        case 'retry':
          if (retriesLeft === 0) return this.recorded(step, result, startedAt, calls);
          retriesLeft--;
          attempt++;
          if (backoffMs > 0) await abortableSleep(backoffMs, signal);
          backoffMs *= 2;
          continue;
      }
    }
  }

  /** One call of the component; a synchronous throw becomes a rejection (and a plain value a promise). */
  private invokeAttempt(step: CompiledStep, input: unknown, scope: ExecutionScope, attempt: number): Promise<FlowResult> {
    if (attempt > this.attempts) this.attempts = attempt;
    try {
      return Promise.resolve(this.options.invoke({
        stepId: step.id, component: step.component, input, attempt, signal: this.options.signal, scope, traceContext: this.traceContext, timeoutMs: step.timeoutMs ?? this.options.callTimeoutMs,
      }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Records a call's final result for later references and returns it. */
  private done(step: CompiledStep, result: FlowResult): FlowResult {
    this.results[step.index] = result;
    return result;
  }

  /** The transport retries of this step's calls: fixed, or the setting of the plugin serving it. */
  private transportRetriesOf(step: CompiledStep, input: unknown): number {
    const retries = this.options.transportRetries ?? DEFAULT_TRANSPORT_RETRIES;
    return typeof retries === 'number' ? retries : retries(step.component, input);
  }

}

/**
 * What a step record says of a failure: the component's own error when the executor wrapped it
 * (`step "x" failed`), code and message only — the data stays in the item's result, which is
 * checked for size and depth before it is stored.
 */
function stepError(error: FlowError): FlowError {
  const cause = (error.data as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'number' && typeof cause.message === 'string') return { code: cause.code, message: cause.message };
  return { code: error.code, message: error.message };
}

function select(value: unknown, path: CompiledPath, what: string): FlowResult {
  if (path.segments.length === 0) return { outcome: 'success', value };
  const selected = selectPath(value, path);
  return selected === NOT_FOUND ? pathNotFound(path.text, what) : { outcome: 'success', value: selected };
}

/** A step's result through a reference: failures and skips propagate unchanged; null stays null under a path. */
function stepValue(res: FlowResult, expr: StepExpr): FlowResult {
  if (res.outcome !== 'success' || expr.path.segments.length === 0 || res.value === null) return res;
  return select(res.value, expr.path, `step "${expr.stepId}"`);
}

function coalesceStops(r: FlowResult): boolean {
  return r.outcome === 'failed' || (r.outcome === 'success' && r.value !== null && r.value !== undefined);
}

function assemble(expr: ObjectExpr | ArrayExpr, parts: FlowResult[]): FlowResult {
  for (const p of parts) if (p.outcome !== 'success') return p;
  if (expr.kind === 'array') return { outcome: 'success', value: parts.map(successValue) };
  const out: Record<string, unknown> = {};
  for (let i = 0; i < parts.length; i++) {
    const key = expr.keys[i];
    // A `__proto__` key from JSON is data; plain assignment would change the prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value: successValue(parts[i]), enumerable: true, writable: true, configurable: true });
    else out[key] = successValue(parts[i]);
  }
  return { outcome: 'success', value: out };
}

const successValue = (r: FlowResult): unknown => (r as { value: unknown }).value;

function mustExecuteOutcome(parts: FlowResult[]): FlowResult {
  for (let i = 0; i < parts.length - 1; i++) if (parts[i].outcome === 'failed') return parts[i];
  return parts[parts.length - 1];
}

function isFlowResult(r: unknown): r is FlowResult {
  if (typeof r !== 'object' || r === null) return false;
  const o = (r as { outcome?: unknown }).outcome;
  return o === 'success' || o === 'failed' || o === 'skipped';
}
