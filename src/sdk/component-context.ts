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
  type ResultOut,
  type RunStatus,
} from '../../protocol/index.js';
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
  /** Reads a blob's JSON value; a missing blob rejects with `RpcError` -32008. */
  getBlob(blobId: string): Promise<unknown>;
  /** Submits a run as a child of the item being executed. */
  submitRun(params: SubmitRunParams): Promise<RunStatus>;
  getRun(params: GetRunParams): Promise<RunStatus>;
  cancelRun(runId: string): Promise<RunStatus>;
  listRuns(params?: ListRunsParams): Promise<ListRunsResult>;
}

export interface ExecutionFacts {
  component: string;
  attempt: number;
  observability: Observability;
  signal: AbortSignal;
  logger: Logger;
}

/** Builds the context of one `components/execute` call over the runtime connection `peer`. */
export function createComponentContext(peer: RpcPeer, facts: ExecutionFacts): ComponentContext {
  const { signal, observability } = facts;
  return {
    component: facts.component,
    attempt: facts.attempt,
    observability,
    signal,
    logger: facts.logger,
    async putBlob(data, blobType = 'data') {
      const result = await peer.sendRequest(BlobsPut, { data, blob_type: blobType }, { signal });
      return result.blob_id;
    },
    async getBlob(blobId) {
      const result = await peer.sendRequest(BlobsGet, { blob_id: blobId }, { signal });
      return result.data;
    },
    submitRun(params) {
      // The runtime links the child run to this item through run_id and step_id.
      return peer.sendRequest(RunsSubmit, { ...params, observability: params.observability ?? observability }, { signal });
    },
    getRun(params) {
      return peer.sendRequest(RunsGet, params, { signal });
    },
    cancelRun(runId) {
      return peer.sendRequest(RunsCancel, { runId }, { signal });
    },
    listRuns(params) {
      return peer.sendRequest(RunsList, params ?? {}, { signal });
    },
  };
}
