import {
  RunsCancel,
  RunsDelete,
  RunsGet,
  RunsRerun,
  RunsItems,
  RunsMetrics,
  RunsSubmit,
  isTerminal,
  type FlowResult,
  type ItemResult,
  type ParamsIn,
  type RequestMethod,
  type ResultOrder,
  type ResultOut,
  type RunStatus,
} from '../../protocol/index.js';
import type { RequestOptions, RpcPeer } from '../rpc/peer.js';
import { namedClientError } from './client-errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/ndjson-reader.js';
import type { RunEventStream, WatchParams } from './event-stream.js';

/**
 * Anything that can send typed requests to a runtime: an `RpcPeer`, a client connection, the
 * embedded runtime's in-process caller. A caller
 * whose frames are limited says so (`maxMessageBytes`), and `result()` keeps its pages under it.
 */
export type RuntimeCaller = Pick<RpcPeer, 'sendRequest'> & {
  readonly maxMessageBytes?: number;
  /** Watches runs (docs/events.md); a caller without it cannot give `events()`. */
  watch?(params: WatchParams): RunEventStream;
};

/** Options of `RunHandle.items()`: the params of `runs/items` besides the run, and the request's. */
export type ItemsOptions = Omit<NonNullable<ParamsIn<typeof RunsItems>>, 'runId'> & RequestOptions;

/** Most items `itemResults()` asks for in one page (docs/limits.md). */
export const MAX_PAGE_ITEMS = 10_000;
/**
 * `itemResults()` sizes its pages for a quarter of the frame limit by the largest result seen so
 * far: results vary, and a frame over the limit closes the connection.
 */
const PAGE_SHARE_OF_FRAME = 4;

/**
 * A handle on a run, by id: `status()`, `wait()`, `result()`, `results()`, `itemResults()`,
 * `rerun()`, `cancel()`. Waits are server-side long polls (`runs/get` with `wait`), never client-side
 * polling. The same handle serves a remote runtime and an embedded one; a run the runtime does
 * not know rejects with `RunNotFoundError`.
 */
export class RunHandle {
  constructor(
    private readonly caller: RuntimeCaller,
    readonly runId: string,
    /** The status returned at submit, when the handle came from `submitRun` (`deduplicated` when its idempotency key named this run). */
    readonly submitted?: ResultOut<typeof RunsSubmit>,
  ) {}

  /** Sends one request for this run; errors with a name of their own reject as it. */
  private request<D extends RequestMethod<any, any>>(d: D, params: ParamsIn<D>, options: RequestOptions): Promise<ResultOut<D>> {
    return this.caller.sendRequest(d, params, options).catch((error: unknown) => {
      throw namedClientError(error, d, params);
    });
  }

  /**
   * The run's events as an async iterator (docs/events.md), ending after its `run.finished`: a
   * run that finished already yields that at once. With `items`, each item's `item.finished`
   * too. Needs a client connection (`connect`): the embedded runtime has `runtime.watch` instead.
   */
  events(options: Omit<WatchParams, 'runId' | 'filter'> = {}): RunEventStream {
    if (this.caller.watch === undefined) throw new Error('run.events() needs a connection made by connect(); this handle has none');
    return this.caller.watch({ ...options, runId: this.runId });
  }

  /** The run's current status, without results. */
  status(options: RequestOptions = {}): Promise<RunStatus> {
    return this.request(RunsGet, { runId: this.runId }, options);
  }

  /** Waits until the run is terminal (or `timeoutMs` passed: then the current status). */
  wait(options: RequestOptions & { timeoutMs?: number } = {}): Promise<RunStatus> {
    const { timeoutMs, ...request } = options;
    return this.request(RunsGet, { runId: this.runId, wait: true, timeoutMs }, request);
  }

  /** One page of item results in the chosen order; `nextOffset` is set while more remain. */
  async results(options: { order?: ResultOrder; offset?: number; limit?: number; signal?: AbortSignal } = {}): Promise<{ results: ItemResult[]; nextOffset?: number }> {
    const status = await this.request(
      RunsGet,
      { runId: this.runId, includeResults: true, resultOrder: options.order ?? 'byIndex', offset: options.offset ?? 0, limit: options.limit },
      { signal: options.signal },
    );
    return { results: status.results ?? [], nextOffset: status.nextOffset };
  }

  /**
   * One page of the run's items with their status, attempts and timings (`runs/items`): filtered
   * by status, with inputs and step records when asked; `nextOffset` is set while more remain.
   */
  items(options: ItemsOptions = {}): Promise<ResultOut<typeof RunsItems>> {
    const { signal, timeoutMs, ...params } = options;
    return this.request(RunsItems, { runId: this.runId, ...params }, { signal, timeoutMs });
  }

  /** Throughput, latency and per-component figures of the run, from what the runtime stored (`runs/metrics`). */
  metrics(options: RequestOptions = {}): Promise<ResultOut<typeof RunsMetrics>> {
    return this.request(RunsMetrics, { runId: this.runId }, options);
  }

  /** Waits for the run to finish and returns every item's FlowResult in input order. */
  async result(options: { signal?: AbortSignal } = {}): Promise<FlowResult[]> {
    let status = await this.wait({ signal: options.signal });
    while (!isTerminal(status.status)) status = await this.wait({ signal: options.signal });
    const items = await this.itemResults({ signal: options.signal });
    return items.map((item) => item.result ?? { outcome: 'failed', error: { code: -32800, message: `item ${item.itemIndex} ${item.status}` } });
  }

  /**
   * Every item's result as it is now, in the chosen order, fetched in pages that stay well under
   * the caller's frame limit however big the run's results are (the first page is one item; then
   * up to `MAX_PAGE_ITEMS`, sized by the largest result seen).
   */
  async itemResults(options: { order?: ResultOrder; signal?: AbortSignal } = {}): Promise<ItemResult[]> {
    const budget = (this.caller.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) / PAGE_SHARE_OF_FRAME;
    const out: ItemResult[] = [];
    let largest = 1;
    let limit = 1;
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page = await this.results({ order: options.order, offset, limit, signal: options.signal });
      for (const item of page.results) {
        out.push(item);
        largest = Math.max(largest, Buffer.byteLength(JSON.stringify(item)));
      }
      limit = Math.max(1, Math.min(MAX_PAGE_ITEMS, Math.floor(budget / largest)));
      offset = page.results.length > 0 ? page.nextOffset : undefined;
    }
    return out;
  }

  /**
   * Runs items of this finished run again as a new run (`runs/rerun`; by default the failed ones)
   * and returns the new run's handle; its results carry each item's `sourceIndex` here.
   */
  async rerun(params: Omit<ParamsIn<typeof RunsRerun>, 'runId'> = {}, options: RequestOptions = {}): Promise<RunHandle> {
    const status = await this.request(RunsRerun, { ...params, runId: this.runId }, options);
    return new RunHandle(this.caller, status.runId, status);
  }

  /**
   * Deletes this finished run with its items, results and child runs (`runs/delete`); a run not
   * finished rejects with -32013, and the handle finds nothing afterwards.
   */
  delete(options: RequestOptions = {}): Promise<ResultOut<typeof RunsDelete>> {
    return this.request(RunsDelete, { runId: this.runId }, options);
  }

  /** Cancels the run (and its children); finished results are kept. */
  cancel(options: RequestOptions = {}): Promise<RunStatus> {
    return this.request(RunsCancel, { runId: this.runId }, options);
  }
}

/** Submits a run and returns its handle. */
export async function submitRun(caller: RuntimeCaller, params: ParamsIn<typeof RunsSubmit>, options: RequestOptions = {}): Promise<RunHandle> {
  const status = await caller.sendRequest(RunsSubmit, params, options).catch((error: unknown) => {
    throw namedClientError(error, RunsSubmit, params);
  });
  return new RunHandle(caller, status.runId, status);
}

/**
 * Submits a run and, with `wait`, waits for it here rather than in one `runs/submit` answer: the
 * handle's `submitted` is then the status once the run is terminal (or `timeoutMs` passed), with
 * every result, paged under the caller's frame limit (one answer holding them all could exceed it).
 */
export async function submitAndWait(caller: RuntimeCaller, params: ParamsIn<typeof RunsSubmit>, options: RequestOptions = {}): Promise<RunHandle> {
  if (!params.wait) return submitRun(caller, params, options);
  const { wait: _wait, timeoutMs, ...submit } = params;
  const handle = await submitRun(caller, submit, options);
  const status = await handle.wait({ timeoutMs: timeoutMs as number | undefined, signal: options.signal });
  const results = await handle.itemResults({ signal: options.signal });
  return new RunHandle(caller, handle.runId, { ...status, results });
}
