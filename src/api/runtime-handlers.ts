import { BlobsGet, BlobsPut, FlowsList, RunsCancel, RunsCompare, RunsDelete, RunsGc, RunsGet, RunsItems, RunsList, RunsMetrics, RunsRerun, RunsSubmit, type ParamsOut, type RequestMethod, type ResultIn } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { RequestContext, RpcPeer } from '../rpc/peer.js';
import { accessOf, requireRole } from './access.js';
import { audited } from './audit.js';
import type { CallerContext, RuntimeApi } from './runtime-api.js';

/** Derives who is calling from a request (its connection, and for component servers the item being executed). */
export type CallerResolver = (ctx: RequestContext, params: unknown) => CallerContext;

/** Options of {@link registerRuntimeHandlers}. */
export interface RuntimeHandlerOptions {
  /** Where the audit lines of a principal's mutating calls go (docs/security.md). Default: none written. */
  audit?: Logger;
}

/**
 * Serves the runtime's methods (`blobs/*`, `runs/*`, docs/protocol.md) on `peer` by delegating to `api`.
 * Each call gets the caller from `callerFor`, with the request's signal, so a long-poll `runs/get`
 * is released when the caller cancels or its connection closes. A caller with a principal (a
 * client of `flowrun serve`) is held to its role (`access.ts`) and its mutating calls are audited.
 */
export function registerRuntimeHandlers(peer: RpcPeer, api: RuntimeApi, callerFor: CallerResolver, options: RuntimeHandlerOptions = {}): void {
  // The signal is read only by the calls that wait (runs/get, runs/submit): reading it creates
  // the request's AbortController, which the other calls do not need.
  const caller = (ctx: RequestContext, params: unknown): CallerContext => {
    const resolved = callerFor(ctx, params);
    return {
      parent: resolved.parent,
      principal: resolved.principal,
      plugin: resolved.plugin,
      get signal() {
        return ctx.signal;
      },
    };
  };
  const serve = <D extends RequestMethod<any, any>>(d: D, call: (params: ParamsOut<D>, caller: CallerContext) => Promise<ResultIn<D>>): void => {
    peer.onRequest(d, (params, ctx) => {
      const c = caller(ctx, params);
      if (c.principal === undefined) return call(params, c);
      requireRole(c.principal, d.method);
      if (options.audit === undefined || accessOf(d.method).mutating !== true) return call(params, c);
      return audited(options.audit, c.principal, d.method, params, call(params, c));
    });
  };
  serve(BlobsPut, (params, c) => api.blobsPut(params, c));
  serve(BlobsGet, (params, c) => api.blobsGet(params, c));
  serve(RunsSubmit, (params, c) => api.runsSubmit(params, c));
  serve(RunsGet, (params, c) => api.runsGet(params, c));
  serve(RunsCancel, (params, c) => api.runsCancel(params, c));
  serve(RunsList, (params, c) => api.runsList(params, c));
  serve(RunsRerun, (params, c) => api.runsRerun(params, c));
  serve(RunsCompare, (params, c) => api.runsCompare(params, c));
  serve(RunsDelete, (params, c) => api.runsDelete(params, c));
  serve(RunsGc, (params, c) => api.runsGc(params, c));
  serve(FlowsList, (params, c) => api.flowsList(params, c));
  serve(RunsItems, (params, c) => api.runsItems(params, c));
  serve(RunsMetrics, (params, c) => api.runsMetrics(params, c));
}
