import type { z } from 'zod';
import type * as M from '../../protocol/messages.js';
import type { RunStatus } from '../../protocol/index.js';
import type { ExecutionScope } from '../calls/plugin.js';
import type { Principal } from './access.js';

/**
 * Who is calling the runtime's `blobs/*` and `runs/*` methods. A component server calls during
 * `components/execute`: `parent` is the item it is executing (runs it submits are children of
 * that run). External clients have no parent.
 */
export interface CallerContext {
  parent?: ExecutionScope;
  /**
   * The token a client of `flowrun serve` showed (docs/security.md): its namespace bounds what it
   * sees, its role what it may do. Absent for component servers (they act in the namespace of the
   * run whose item they serve) and for programs embedding the runtime (every namespace).
   */
  principal?: Principal;
  /** The plugin of a component server calling back (its audit lines name it). */
  plugin?: string;
  signal?: AbortSignal;
}

/**
 * The methods the runtime serves to component servers and clients (docs/protocol.md), with params
 * already parsed by the protocol schemas. Errors are thrown as `RpcError` with the codes of docs/protocol.md, "Errors".
 */
export interface RuntimeApi {
  blobsPut(params: z.output<typeof M.BlobsPutParams>, caller: CallerContext): Promise<z.input<typeof M.BlobsPutResult>>;
  blobsGet(params: z.output<typeof M.BlobsGetParams>, caller: CallerContext): Promise<z.input<typeof M.BlobsGetResult>>;
  runsSubmit(params: z.output<typeof M.RunsSubmitParams>, caller: CallerContext): Promise<z.input<typeof M.RunsSubmitResult>>;
  runsGet(params: z.output<typeof M.RunsGetParams>, caller: CallerContext): Promise<RunStatus>;
  runsCancel(params: z.output<typeof M.RunsCancelParams>, caller: CallerContext): Promise<RunStatus>;
  runsList(params: z.output<typeof M.RunsListParams>, caller: CallerContext): Promise<z.input<typeof M.RunsListResult>>;
  runsRerun(params: z.output<typeof M.RunsRerunParams>, caller: CallerContext): Promise<RunStatus>;
  runsCompare(params: z.output<typeof M.RunsCompareParams>, caller: CallerContext): Promise<z.input<typeof M.RunsCompareResult>>;
  runsDelete(params: z.output<typeof M.RunsDeleteParams>, caller: CallerContext): Promise<z.input<typeof M.RunsDeleteResult>>;
  runsGc(params: z.output<typeof M.RunsGcParams>, caller: CallerContext): Promise<z.input<typeof M.RunsGcResult>>;
  flowsList(params: z.output<typeof M.FlowsListParams>, caller: CallerContext): Promise<z.input<typeof M.FlowsListResult>>;
  runsItems(params: z.output<typeof M.RunsItemsParams>, caller: CallerContext): Promise<z.input<typeof M.RunsItemsResult>>;
  runsMetrics(params: z.output<typeof M.RunsMetricsParams>, caller: CallerContext): Promise<z.input<typeof M.RunsMetricsResult>>;
}
