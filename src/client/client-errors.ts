import { ErrorCodes, RpcError, RunsCancel, RunsCompare, RunsDelete, RunsGet, RunsItems, RunsMetrics, RunsRerun, RunsSubmit, type RequestMethod } from '../../protocol/index.js';

/** The methods whose -32011 names the run of their `runId`. */
const RUN_METHODS: ReadonlySet<RequestMethod<any, any>> = new Set([RunsGet, RunsCancel, RunsItems, RunsMetrics, RunsDelete]);

/**
 * Errors a runtime answers, by what went wrong rather than by code (docs/client.md, "Errors").
 * Each extends `RpcError`, so `code` and `data` read as before and `instanceof RpcError` holds.
 */

/** The run asked for does not exist (`-32011` from `runs/get` or `runs/cancel`). */
export class RunNotFoundError extends RpcError {
  constructor(
    readonly runId: string,
    message: string,
    data?: unknown,
  ) {
    super(ErrorCodes.NotFound, message, data);
    setName(this, 'RunNotFoundError');
  }
}

/** The blob asked for does not exist (`-32008`). */
export class BlobNotFoundError extends RpcError {
  constructor(
    readonly blobId: string,
    message: string,
    data?: unknown,
  ) {
    super(ErrorCodes.BlobNotFound, message, data);
    setName(this, 'BlobNotFoundError');
  }
}

/** A run was submitted by `flowId` and no stored flow has that id (`-32011` from `runs/submit`). */
export class FlowNotFoundError extends RpcError {
  constructor(
    readonly flowId: string,
    message: string,
    data?: unknown,
  ) {
    super(ErrorCodes.NotFound, message, data);
    setName(this, 'FlowNotFoundError');
  }
}

/** The runtime refused a run over its limits: nesting depth or live runs (`-32014`, docs/limits.md). */
export class RunLimitError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCodes.TooManyRequests, message, data);
    setName(this, 'RunLimitError');
  }
}

/**
 * The named error for what `method` answered with `params`, or `error` itself when it has no
 * name of its own (other codes, local errors such as `ConnectionClosedError`).
 */
export function namedClientError(error: unknown, method: RequestMethod<any, any>, params: unknown): unknown {
  if (!(error instanceof RpcError) || error.constructor !== RpcError) return error;
  const { message, data } = error;
  switch (error.code) {
    case ErrorCodes.NotFound: {
      const runId = field(params, 'runId');
      if (RUN_METHODS.has(method) && runId !== undefined) return new RunNotFoundError(runId, message, data);
      // A rerun's -32011 may name its flow instead; a compare names the run it did not find.
      const missingRun = field(data, 'runId');
      if ((method === RunsRerun || method === RunsCompare) && missingRun !== undefined) return new RunNotFoundError(missingRun, message, data);
      const flowId = field(params, 'flowId');
      if (method === RunsSubmit && flowId !== undefined) return new FlowNotFoundError(flowId, message, data);
      return error;
    }
    case ErrorCodes.BlobNotFound: {
      const blobId = field(data, 'blob_id') ?? field(params, 'blob_id');
      return blobId === undefined ? error : new BlobNotFoundError(blobId, message, data);
    }
    case ErrorCodes.TooManyRequests:
      return method === RunsSubmit ? new RunLimitError(message, data) : error;
    default:
      return error;
  }
}

function field(value: unknown, key: string): string | undefined {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** `RpcError` fixes `name` to its own; these errors print their own name. */
function setName(error: Error, name: string): void {
  Object.defineProperty(error, 'name', { value: name, enumerable: false, configurable: true, writable: false });
}
