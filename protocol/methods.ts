import type { z } from 'zod';
import { executeFastPath } from './execute-fast-paths.js';
import * as E from './events.js';
import * as M from './messages.js';

/**
 * Typed method descriptors. Every call and every handler goes through one of these, so a
 * renamed field breaks the build, not production. Params are parsed with the schema at the
 * receiving edge; `z.input` is what a caller may send, `z.output` what a handler receives.
 */
export class RequestMethod<P extends z.ZodType, R extends z.ZodType> {
  readonly kind = 'request' as const;
  constructor(
    readonly method: string,
    readonly params: P,
    readonly result: R,
    /** How the usual messages of a hot method are written and read by hand; see {@link FastPathCodec}. */
    readonly fastPath?: FastPathCodec<P, R>,
  ) {}
}

/**
 * Hand-written writing and reading of a method's usual messages, for a method every component call
 * goes through (bench/HISTORY.md). The schemas stay the contract: a codec answers what they would
 * answer, only faster, and leaves anything unusual to them. Tests hold each codec to its schemas.
 */
export interface FastPathCodec<P extends z.ZodType, R extends z.ZodType> {
  /** The params as an object that writes its own JSON text: the text `JSON.stringify(params)` writes. */
  writeParams(params: z.input<P>): unknown;
  /** What parsing with the params schema returns, or `undefined` when the schema must decide (and word the error). */
  parseParams(value: unknown): z.output<P> | undefined;
  /**
   * What parsing with the result schema returns, or `undefined` when the schema must decide. Throws
   * an `RpcError` for a result the runtime refuses although the schema accepts it (a value too deep).
   */
  parseResult(value: unknown): z.output<R> | undefined;
}

export class NotificationMethod<P extends z.ZodType> {
  readonly kind = 'notification' as const;
  constructor(
    readonly method: string,
    readonly params: P,
  ) {}
}

export type ParamsIn<D> = D extends RequestMethod<infer P, z.ZodType> | NotificationMethod<infer P> ? z.input<P> : never;
export type ParamsOut<D> = D extends RequestMethod<infer P, z.ZodType> | NotificationMethod<infer P> ? z.output<P> : never;
export type ResultIn<D> = D extends RequestMethod<z.ZodType, infer R> ? z.input<R> : never;
export type ResultOut<D> = D extends RequestMethod<z.ZodType, infer R> ? z.output<R> : never;

// runtime → component server
export const Initialize = new RequestMethod('initialize', M.InitializeParams, M.InitializeResult);
export const Initialized = new NotificationMethod('initialized', M.InitializedParams);
export const ComponentsList = new RequestMethod('components/list', M.ComponentsListParams, M.ComponentsListResult);
export const ComponentsInfo = new RequestMethod('components/info', M.ComponentsInfoParams, M.ComponentsInfoResult);
// Every component call: its usual messages are written and read by hand (protocol/execute-fast-paths.ts).
export const ComponentsExecute = new RequestMethod('components/execute', M.ComponentsExecuteParams, M.ComponentsExecuteResult, executeFastPath);

// component server / client → runtime
export const BlobsPut = new RequestMethod('blobs/put', M.BlobsPutParams, M.BlobsPutResult);
export const BlobsGet = new RequestMethod('blobs/get', M.BlobsGetParams, M.BlobsGetResult);
export const RunsSubmit = new RequestMethod('runs/submit', M.RunsSubmitParams, M.RunsSubmitResult);
export const RunsGet = new RequestMethod('runs/get', M.RunsGetParams, M.RunsGetResult);
export const RunsCancel = new RequestMethod('runs/cancel', M.RunsCancelParams, M.RunsCancelResult);
export const RunsList = new RequestMethod('runs/list', M.RunsListParams, M.RunsListResult);
export const FlowsList = new RequestMethod('flows/list', M.FlowsListParams, M.FlowsListResult);
export const RunsRerun = new RequestMethod('runs/rerun', M.RunsRerunParams, M.RunsRerunResult);
export const RunsCompare = new RequestMethod('runs/compare', M.RunsCompareParams, M.RunsCompareResult);
export const RunsDelete = new RequestMethod('runs/delete', M.RunsDeleteParams, M.RunsDeleteResult);
export const RunsGc = new RequestMethod('runs/gc', M.RunsGcParams, M.RunsGcResult);
export const RunsItems = new RequestMethod('runs/items', M.RunsItemsParams, M.RunsItemsResult);
export const RunsMetrics = new RequestMethod('runs/metrics', M.RunsMetricsParams, M.RunsMetricsResult);
export const NodesList = new RequestMethod('nodes/list', M.NodesListParams, M.NodesListResult);
export const WorkersList = new RequestMethod('workers/list', M.WorkersListParams, M.WorkersListResult);
// Live run events (docs/events.md): a watch, then `runs/event` notifications to the watcher.
export const RunsWatch = new RequestMethod('runs/watch', E.RunsWatchParams, E.RunsWatchResult);
export const RunsUnwatch = new RequestMethod('runs/unwatch', E.RunsUnwatchParams, E.RunsUnwatchResult);
export const RunsEvent = new NotificationMethod('runs/event', E.RunsEventParams);

// worker → runtime, on the worker's own connection (docs/workers.md)
export const WorkersRegister = new RequestMethod('workers/register', M.WorkersRegisterParams, M.WorkersRegisterResult);
export const WorkersDrain = new RequestMethod('workers/drain', M.WorkersDrainParams, M.WorkersDrainResult);

// both directions
export const CancelRequest = new NotificationMethod('$/cancelRequest', M.CancelRequestParams);

/** Every request method, for schema generation and method-not-found checks. */
export const REQUEST_METHODS = [
  Initialize, ComponentsList, ComponentsInfo, ComponentsExecute,
  BlobsPut, BlobsGet, RunsSubmit, RunsGet, RunsCancel, RunsList, RunsItems, RunsMetrics, RunsRerun, RunsCompare, RunsDelete, RunsGc, FlowsList, NodesList,
  WorkersList, WorkersRegister, WorkersDrain, RunsWatch, RunsUnwatch,
] as const;
export const NOTIFICATION_METHODS = [Initialized, CancelRequest, RunsEvent] as const;
