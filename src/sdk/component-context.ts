import type { Logger } from 'pino';
import {
  BlobsGet,
  BlobsPut,
  RunsCancel,
  RunsGet,
  RunsList,
  RunsSubmit,
  type BlobType,
  type Observability,
  type ParamsIn,
  type RequestMethod,
  type ResultOut,
  type RunStatus,
} from '../../protocol/index.js';
import { namedClientError } from '../client/client-errors.js';
import type { RpcPeer } from '../rpc/peer.js';

export type SubmitRunParams = ParamsIn<typeof RunsSubmit>;
export type GetRunParams = ParamsIn<typeof RunsGet>;
export type ListRunsParams = ParamsIn<typeof RunsList>;
export type ListRunsResult = ResultOut<typeof RunsList>;

/**
 * What a component handler gets besides its input. The blob and run methods call back into the
 * runtime over the same connection; they are cancelled with the execution (`signal`).
 */
export interface ComponentContext {
  /** The component being executed (with its leading `/`). */
  readonly component: string;
  /** 1 on the first try; raised by the runtime on every retry. */
  readonly attempt: number;
  /** Trace context and ids of the run, flow and step this execution serves. */
  readonly observability: Observability;
  /** Aborted when the runtime cancels this execution (`$/cancelRequest`). */
  readonly signal: AbortSignal;
  /** Logs to stderr; never use `console.log` in a stdio component server. */
  readonly logger: Logger;
  /** Stores a JSON value in the runtime's blob store and returns its id (`sha256:…`). */
  putBlob(data: unknown, blobType?: BlobType): Promise<string>;
  /** Reads a blob's JSON value; a missing blob rejects with `BlobNotFoundError` (an `RpcError`, -32008). */
  getBlob(blobId: string): Promise<unknown>;
  /**
   * Submits a run as a child of the item being executed. The run methods reject with the
   * client's named errors (`RunNotFoundError` carrying `runId`, …), which are `RpcError`s.
   */
  submitRun(params: SubmitRunParams): Promise<RunStatus>;
  getRun(params: GetRunParams): Promise<RunStatus>;
  cancelRun(runId: string): Promise<RunStatus>;
  listRuns(params?: ListRunsParams): Promise<ListRunsResult>;
}

/**
 * The context of one `components/execute` call over the runtime connection `peer`. Its signal and
 * logger cost nothing until used: most handlers read neither, and an AbortController plus a pino
 * child logger per call were more than half of a small echo server's CPU.
 */
export class ExecutionContext implements ComponentContext {
  #logger: Logger | undefined;

  constructor(
    private readonly peer: RpcPeer,
    readonly component: string,
    readonly attempt: number,
    readonly observability: Observability,
    /** The incoming request: its `signal` creates an AbortController on first read. */
    private readonly request: { readonly signal: AbortSignal },
    /** The server's logger; `logger` is its child naming the component, run and step. */
    private readonly serverLogger: Logger,
  ) {}

  get signal(): AbortSignal {
    return this.request.signal;
  }

  get logger(): Logger {
    this.#logger ??= this.serverLogger.child({
      component: this.component,
      run_id: this.observability.run_id,
      step_id: this.observability.step_id,
    });
    return this.#logger;
  }

  /** Sends a request to the runtime, cancelled with this execution; named errors reject as such. */
  private call<D extends RequestMethod<any, any>>(d: D, params: ParamsIn<D>): Promise<ResultOut<D>> {
    return this.peer.sendRequest(d, params, { signal: this.signal }).catch((error: unknown) => {
      throw namedClientError(error, d, params);
    });
  }

  // Blob callbacks name their call (`observability`), as runs/submit does: a runtime serving
  // several calls on this connection credits the blob to the right run's namespace and audit line.
  async putBlob(data: unknown, blobType: BlobType = 'data'): Promise<string> {
    const result = await this.call(BlobsPut, { data, blob_type: blobType, ...this.callIds() });
    return result.blob_id;
  }

  async getBlob(blobId: string): Promise<unknown> {
    const result = await this.call(BlobsGet, { blob_id: blobId, ...this.callIds() });
    return result.data;
  }

  /** `{observability}` when the runtime named this call's run and step, else nothing. */
  private callIds(): { observability?: Observability } {
    const { run_id, step_id } = this.observability;
    return run_id !== undefined && step_id !== undefined ? { observability: this.observability } : {};
  }

  submitRun(params: SubmitRunParams): Promise<RunStatus> {
    // The runtime links the child run to this item through run_id and step_id.
    return this.call(RunsSubmit, { ...params, observability: params.observability ?? this.observability });
  }

  getRun(params: GetRunParams): Promise<RunStatus> {
    return this.call(RunsGet, params);
  }

  cancelRun(runId: string): Promise<RunStatus> {
    return this.call(RunsCancel, { runId });
  }

  listRuns(params?: ListRunsParams): Promise<ListRunsResult> {
    return this.call(RunsList, params ?? {});
  }
}
