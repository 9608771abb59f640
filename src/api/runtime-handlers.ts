import { BlobsGet, BlobsPut, RunsCancel, RunsCompare, RunsDelete, RunsGc, RunsGet, RunsItems, RunsList, RunsMetrics, RunsRerun, RunsSubmit } from '../../protocol/index.js';
import type { RequestContext, RpcPeer } from '../rpc/peer.js';
import type { CallerContext, RuntimeApi } from './runtime-api.js';

/** Derives who is calling from a request (its connection, and for component servers the item being executed). */
export type CallerResolver = (ctx: RequestContext, params: unknown) => CallerContext;

/**
 * Serves the runtime's methods (`blobs/*`, `runs/*`, docs/protocol.md) on `peer` by delegating to `api`.
 * Each call gets the caller from `callerFor`, with the request's signal, so a long-poll `runs/get`
 * is released when the caller cancels or its connection closes.
 */
export function registerRuntimeHandlers(peer: RpcPeer, api: RuntimeApi, callerFor: CallerResolver): void {
  // The signal is read only by the calls that wait (runs/get, runs/submit): reading it creates
  // the request's AbortController, which the other calls do not need.
  const caller = (ctx: RequestContext, params: unknown): CallerContext => {
    const resolved = callerFor(ctx, params);
    return {
      parent: resolved.parent,
      get signal() {
        return ctx.signal;
      },
    };
  };
  peer.onRequest(BlobsPut, (params, ctx) => api.blobsPut(params, caller(ctx, params)));
  peer.onRequest(BlobsGet, (params, ctx) => api.blobsGet(params, caller(ctx, params)));
  peer.onRequest(RunsSubmit, (params, ctx) => api.runsSubmit(params, caller(ctx, params)));
  peer.onRequest(RunsGet, (params, ctx) => api.runsGet(params, caller(ctx, params)));
  peer.onRequest(RunsCancel, (params, ctx) => api.runsCancel(params, caller(ctx, params)));
  peer.onRequest(RunsList, (params, ctx) => api.runsList(params, caller(ctx, params)));
  peer.onRequest(RunsRerun, (params, ctx) => api.runsRerun(params, caller(ctx, params)));
  peer.onRequest(RunsCompare, (params, ctx) => api.runsCompare(params, caller(ctx, params)));
  peer.onRequest(RunsDelete, (params, ctx) => api.runsDelete(params, caller(ctx, params)));
  peer.onRequest(RunsGc, (params, ctx) => api.runsGc(params, caller(ctx, params)));
  peer.onRequest(RunsItems, (params, ctx) => api.runsItems(params, caller(ctx, params)));
  peer.onRequest(RunsMetrics, (params, ctx) => api.runsMetrics(params, caller(ctx, params)));
}
