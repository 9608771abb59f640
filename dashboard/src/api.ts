// Every JSON-RPC call the dashboard makes (docs/protocol.md): method names in this one place,
// params and results typed from protocol/ (types only: no schema code reaches the bundle).
import type { z } from 'zod';
import type * as M from '../../protocol/messages.js';
import type * as E from '../../protocol/events.js';
import type { RpcSocket } from './rpc.js';

type In<T extends z.ZodType> = z.input<T>;
type Out<T extends z.ZodType> = z.output<T>;

export type RunStatus = Out<typeof M.RunsGetResult>;
export type RunsListParams = NonNullable<In<typeof M.RunsListParams>>;
export type RunsWatchParams = NonNullable<In<typeof E.RunsWatchParams>> & { namespace?: string };
export type RunEvent = Out<typeof E.RunsEventParams>;
export type ItemDetail = Out<typeof M.RunsItemsResult>['items'][number];
export type RunMetrics = Out<typeof M.RunsMetricsResult>;
export type RunsCompareResult = Out<typeof M.RunsCompareResult>;
export type SubmitParams = In<typeof M.RunsSubmitParams>;
export type FlowUse = Out<typeof M.FlowsListResult>['flows'][number];
export type NodeInfo = Out<typeof M.NodesListResult>['nodes'][number];
export type WorkerInfo = Out<typeof M.WorkersListResult>['workers'][number];

/** The notification a watch receives. */
export const RUN_EVENT_METHOD = 'runs/event';

/** The runtime API as the dashboard calls it. */
export class Api {
  constructor(readonly socket: RpcSocket) {}

  private call<T extends z.ZodType>(method: string, params: unknown): Promise<Out<T>> {
    return this.socket.call(method, params) as Promise<Out<T>>;
  }

  listRuns(params: RunsListParams) {
    return this.call<typeof M.RunsListResult>('runs/list', params);
  }
  getRun(runId: string) {
    return this.call<typeof M.RunsGetResult>('runs/get', { runId } satisfies In<typeof M.RunsGetParams>);
  }
  cancelRun(runId: string) {
    return this.call<typeof M.RunsCancelResult>('runs/cancel', { runId } satisfies In<typeof M.RunsCancelParams>);
  }
  rerunFailed(runId: string) {
    return this.call<typeof M.RunsRerunResult>('runs/rerun', { runId, items: 'failed' } satisfies In<typeof M.RunsRerunParams>);
  }
  deleteRun(runId: string) {
    return this.call<typeof M.RunsDeleteResult>('runs/delete', { runId } satisfies In<typeof M.RunsDeleteParams>);
  }
  runItems(params: In<typeof M.RunsItemsParams>) {
    return this.call<typeof M.RunsItemsResult>('runs/items', params);
  }
  runMetrics(runId: string) {
    return this.call<typeof M.RunsMetricsResult>('runs/metrics', { runId } satisfies In<typeof M.RunsMetricsParams>);
  }
  compareRuns(params: In<typeof M.RunsCompareParams>) {
    return this.call<typeof M.RunsCompareResult>('runs/compare', params);
  }
  submitRun(params: In<typeof M.RunsSubmitParams>) {
    return this.call<typeof M.RunsSubmitResult>('runs/submit', params);
  }
  listFlows(params: NonNullable<In<typeof M.FlowsListParams>>) {
    return this.call<typeof M.FlowsListResult>('flows/list', params);
  }
  getBlob(blobId: string) {
    return this.call<typeof M.BlobsGetResult>('blobs/get', { blob_id: blobId } satisfies In<typeof M.BlobsGetParams>);
  }
  listNodes(params: In<typeof M.NodesListParams>) {
    return this.call<typeof M.NodesListResult>('nodes/list', params);
  }
  listWorkers(params: In<typeof M.WorkersListParams>) {
    return this.call<typeof M.WorkersListResult>('workers/list', params);
  }
  watch(params: RunsWatchParams) {
    return this.call<typeof E.RunsWatchResult>('runs/watch', params);
  }
  unwatch(subscriptionId: string) {
    return this.call<typeof E.RunsUnwatchResult>('runs/unwatch', { subscriptionId } satisfies In<typeof E.RunsUnwatchParams>);
  }
}
