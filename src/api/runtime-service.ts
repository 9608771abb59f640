import { ErrorCodes, RpcError, type RunStatus } from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { RunManager } from '../runs/run-manager.js';
import { compileOrInvalid } from '../runs/flow-cache.js';
import type { CallerContext, RuntimeApi } from './runtime-api.js';

/** The runtime's `blobs/*` and `runs/*` methods over a blob store and a run manager. */
export class RuntimeService implements RuntimeApi {
  constructor(
    private readonly blobs: BlobStore,
    private readonly runs: RunManager,
    /** Whether some route takes a component; submitted flows with a step it refuses are refused. */
    private readonly isRoutable?: (component: string) => boolean,
  ) {}

  async blobsPut(params: { data: unknown; blob_type: 'data' | 'flow' }): Promise<{ blob_id: string }> {
    // A flow blob must be a valid flow: refuse it now rather than at the first run (docs/protocol.md, "Blobs").
    if (params.blob_type === 'flow') compileOrInvalid(params.data, 'blobs/put');
    return { blob_id: await this.blobs.put(params.data, params.blob_type) };
  }

  async blobsGet(params: { blob_id: string }): Promise<{ data: unknown; blob_type: 'data' | 'flow' }> {
    const id = normalizeBlobId(params.blob_id);
    if (id === undefined) {
      throw RpcError.invalidParams(`Invalid params for blobs/get: field "blob_id": not a blob id (sha256:<64 hex>)`, { blob_id: params.blob_id });
    }
    const blob = await this.blobs.get(id);
    if (!blob) throw new RpcError(ErrorCodes.BlobNotFound, `Blob not found: ${id}`, { blob_id: id });
    return { data: blob.data, blob_type: blob.blobType };
  }

  runsSubmit(params: Parameters<RuntimeApi['runsSubmit']>[0], caller: CallerContext): Promise<RunStatus & { deduplicated?: boolean }> {
    return this.runs.submit(params, { parent: caller.parent, signal: caller.signal, isRoutable: this.isRoutable });
  }

  runsGet(params: Parameters<RuntimeApi['runsGet']>[0], caller: CallerContext): Promise<RunStatus> {
    return this.runs.get(params, caller.signal);
  }

  runsCancel(params: { runId: string }): Promise<RunStatus> {
    return this.runs.cancel(params.runId);
  }

  runsList(params: Parameters<RuntimeApi['runsList']>[0]): Promise<{ runs: RunStatus[]; nextCursor?: string }> {
    return this.runs.list(params);
  }

  runsRerun(params: Parameters<RuntimeApi['runsRerun']>[0]): Promise<RunStatus> {
    return this.runs.rerun(params, { isRoutable: this.isRoutable });
  }

  runsCompare(params: Parameters<RuntimeApi['runsCompare']>[0]): ReturnType<RuntimeApi['runsCompare']> {
    return this.runs.compare(params);
  }

  runsDelete(params: Parameters<RuntimeApi['runsDelete']>[0]): ReturnType<RuntimeApi['runsDelete']> {
    return this.runs.delete(params.runId);
  }

  runsGc(params: Parameters<RuntimeApi['runsGc']>[0]): ReturnType<RuntimeApi['runsGc']> {
    return this.runs.gc(params.dryRun);
  }

  runsItems(params: Parameters<RuntimeApi['runsItems']>[0]): ReturnType<RuntimeApi['runsItems']> {
    return this.runs.items(params);
  }

  runsMetrics(params: Parameters<RuntimeApi['runsMetrics']>[0]): ReturnType<RuntimeApi['runsMetrics']> {
    return this.runs.metrics(params.runId);
  }
}
