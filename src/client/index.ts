/**
 * Client of a runtime served by `flowrun serve` (docs/client.md).
 *
 * ```ts
 * const client = await connect('ws://127.0.0.1:7837/', { token });
 * const run = await client.submit({ flow, inputs });
 * const results = await run.result();
 * await client.close();
 * ```
 */
export { connect, FlowrunClient } from './flowrun-client.js';
export type { ConnectOptions, SubmitParams, ListRunsParams, ListRunsResult, ListFlowsParams, ListFlowsResult, CompareRunsParams, CompareRunsResult } from './flowrun-client.js';
export { ConnectError } from './connect-error.js';
export { RunNotFoundError, BlobNotFoundError, FlowNotFoundError, RunLimitError } from './client-errors.js';
export { RunHandle } from './run-handle.js';
export { RunEventStream } from './event-stream.js';
export type { RunEvent, WatchParams } from './event-stream.js';
export type { ItemsOptions } from './run-handle.js';
export type { RequestOptions } from '../rpc/peer.js';
export { ConnectionClosedError, RequestCancelledError, RequestTimeoutError } from '../errors.js';
export { RpcError, ErrorCodes } from '../../protocol/index.js';
export type { RunStatus, ItemResult, ItemDetail, StepRecord, Metadata, FlowResult, BlobType, ResultOrder } from '../../protocol/index.js';
