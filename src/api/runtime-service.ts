import { BlobsPut, ErrorCodes, RpcError, RunsCancel, RunsSubmit, type RunStatus } from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { RunManager } from '../runs/run-manager.js';
import type { RunAccess } from '../runs/run-access.js';
import { compileOrInvalid } from '../runs/flow-cache.js';
import type { BlobNamespaces } from '../runs/blob-namespaces.js';
import { accessOf, requireRole, roleAtLeast, seesEveryNamespace } from './access.js';
import type { CallerContext, RuntimeApi } from './runtime-api.js';
import type { NamespaceQuotas } from './namespace-quotas.js';
import { audited } from './audit.js';
import type { Logger } from '../log.js';

/** Options of a {@link RuntimeService}. */
export interface RuntimeServiceOptions {
  /** Whether some route takes a component; submitted flows with a step it refuses are refused. Default: every flow is taken. */
  isRoutable?: (component: string) => boolean;
  /** The namespaces each blob was put or used in; without it blobs are not kept apart. */
  blobNamespaces?: BlobNamespaces;
  /** Quotas of the namespaces, checked when a token submits; without them none apply. */
  quotas?: NamespaceQuotas;
  /** Where the audit lines of component servers' mutating callbacks go (docs/security.md). Default: none written. */
  audit?: Logger;
}

/**
 * The runtime's `blobs/*` and `runs/*` methods over a blob store and a run manager. Each call is
 * bounded by its caller (docs/security.md): a client's token sees its namespace (an admin every
 * one), a component server the namespace of the run whose item it serves, a program embedding
 * the runtime everything.
 */
export class RuntimeService implements RuntimeApi {
  private readonly isRoutable: ((component: string) => boolean) | undefined;
  private readonly blobNamespaces: BlobNamespaces | undefined;
  private readonly quotas: NamespaceQuotas | undefined;
  private readonly audit: Logger | undefined;

  constructor(
    private readonly blobs: BlobStore,
    private readonly runs: RunManager,
    options: RuntimeServiceOptions = {},
  ) {
    this.isRoutable = options.isRoutable;
    this.blobNamespaces = options.blobNamespaces;
    this.quotas = options.quotas;
    this.audit = options.audit;
  }

  blobsPut(params: { data: unknown; blob_type: 'data' | 'flow' }, caller: CallerContext = {}): Promise<{ blob_id: string }> {
    return this.auditedCallback(BlobsPut.method, params, caller, () => this.putBlob(params, caller));
  }

  private async putBlob(params: { data: unknown; blob_type: 'data' | 'flow' }, caller: CallerContext): Promise<{ blob_id: string }> {
    // A flow blob must be a valid flow: refuse it now rather than at the first run (docs/protocol.md, "Blobs").
    if (params.blob_type === 'flow') compileOrInvalid(params.data, 'blobs/put');
    const blobId = await this.blobs.put(params.data, params.blob_type);
    await this.recordBlob(blobId, caller);
    return { blob_id: blobId };
  }

  async blobsGet(params: { blob_id: string }, caller: CallerContext = {}): Promise<{ data: unknown; blob_type: 'data' | 'flow' }> {
    const id = normalizeBlobId(params.blob_id);
    if (id === undefined) {
      throw RpcError.invalidParams(`Invalid params for blobs/get: field "blob_id": not a blob id (sha256:<64 hex>)`, { blob_id: params.blob_id });
    }
    // A token sees the blobs of its namespace; one of another answers as absent (docs/security.md).
    const hidden = !(await this.tokenSeesBlob(id, caller));
    const blob = hidden ? undefined : await this.blobs.get(id);
    if (!blob) throw new RpcError(ErrorCodes.BlobNotFound, `Blob not found: ${id}`, { blob_id: id });
    return { data: blob.data, blob_type: blob.blobType };
  }

  runsSubmit(params: Parameters<RuntimeApi['runsSubmit']>[0], caller: CallerContext): Promise<RunStatus & { deduplicated?: boolean }> {
    return this.auditedCallback(RunsSubmit.method, params, caller, () => this.submit(params, caller));
  }

  private async submit(params: Parameters<RuntimeApi['runsSubmit']>[0], caller: CallerContext): Promise<RunStatus & { deduplicated?: boolean }> {
    const { principal } = caller;
    if (params.flowId !== undefined) {
      const flowId = normalizeBlobId(params.flowId);
      if (flowId !== undefined && !(await this.tokenSeesBlob(flowId, caller))) throw RpcError.notFound(`Flow not found: ${flowId}`, { flowId });
    }
    if (principal !== undefined) await this.quotas?.admit(principal.namespace, params.inputs.length);
    const status = await this.runs.submit(params, {
      parent: caller.parent,
      signal: caller.signal,
      isRoutable: this.isRoutable,
      namespace: principal?.namespace,
      submittedBy: principal?.tokenName,
    });
    // Its namespace may read the flow of its run.
    await this.recordBlob(status.flowId, caller);
    return status;
  }

  /**
   * Records a blob in the namespace of its caller: a token's, or that of the run a component
   * server serves. A program embedding the runtime records nothing.
   */
  async recordBlob(blobId: string, caller: Pick<CallerContext, 'principal' | 'parent'>): Promise<void> {
    if (this.blobNamespaces === undefined) return;
    const namespace = caller.principal?.namespace ?? (caller.parent === undefined ? undefined : await this.runs.namespaceOfRun(caller.parent.runId));
    if (namespace !== undefined) await this.blobNamespaces.add(blobId, namespace);
  }

  /** Whether the caller may read a blob: a token (but an admin) only the blobs of its namespace; components and programs every blob. */
  private async tokenSeesBlob(blobId: string, caller: CallerContext): Promise<boolean> {
    const { principal } = caller;
    if (principal === undefined || seesEveryNamespace(principal) || this.blobNamespaces === undefined) return true;
    return this.blobNamespaces.has(blobId, principal.namespace);
  }

  async runsGet(params: Parameters<RuntimeApi['runsGet']>[0], caller: CallerContext): Promise<RunStatus> {
    return this.runs.get(params, caller.signal, await this.accessOf(caller));
  }

  runsCancel(params: { runId: string }, caller: CallerContext): Promise<RunStatus> {
    return this.auditedCallback(RunsCancel.method, params, caller, async () => this.runs.cancel(params.runId, await this.accessOf(caller, 'runs/cancel')));
  }

  /**
   * A component server's mutating callback writes an audit line like a token's call
   * (docs/security.md, "Audit"): as `component`, with its plugin and the namespace of the run it
   * serves. Tokens' calls are audited where they arrive (`runtime-handlers.ts`).
   */
  private async auditedCallback<T>(method: string, params: unknown, caller: CallerContext, work: () => Promise<T>): Promise<T> {
    const { parent } = caller;
    if (this.audit === undefined || caller.principal !== undefined || parent === undefined) return work();
    const namespace = await this.runs.namespaceOfRun(parent.runId).catch(() => undefined);
    return audited(this.audit, { tokenName: 'component', namespace, plugin: caller.plugin, parentRunId: parent.runId }, method, params, work());
  }

  async runsList(params: Parameters<RuntimeApi['runsList']>[0], caller: CallerContext): Promise<{ runs: RunStatus[]; nextCursor?: string }> {
    return this.runs.list(params, await this.listingAccess('runs/list', params.namespace, caller));
  }

  async flowsList(params: Parameters<RuntimeApi['flowsList']>[0], caller: CallerContext): ReturnType<RuntimeApi['flowsList']> {
    return this.runs.listFlows(params, await this.listingAccess('flows/list', params.namespace, caller));
  }

  /** What a listing sees: the caller's namespace, or the one it `asked` for, which only an admin may name when not its own. */
  private async listingAccess(method: string, asked: string | undefined, caller: CallerContext): Promise<RunAccess | undefined> {
    const access = await this.accessOf(caller);
    if (asked !== undefined && access?.namespace !== undefined && asked !== access.namespace) {
      if (caller.principal !== undefined) requireRole(caller.principal, `${method} (of another namespace)`, 'admin');
      throw new RpcError(ErrorCodes.PermissionDenied, `permission denied: a component server lists only the ${method === 'runs/list' ? 'runs' : 'flows'} of namespace ${access.namespace}`, { method });
    }
    return asked === undefined ? access : { namespace: asked };
  }

  async runsRerun(params: Parameters<RuntimeApi['runsRerun']>[0], caller: CallerContext): Promise<RunStatus> {
    if (caller.principal !== undefined) await this.quotas?.admit(caller.principal.namespace, 0);
    return this.runs.rerun(params, { isRoutable: this.isRoutable, submittedBy: caller.principal?.tokenName }, await this.accessOf(caller, 'runs/rerun'));
  }

  async runsDelete(params: Parameters<RuntimeApi['runsDelete']>[0], caller: CallerContext = {}): ReturnType<RuntimeApi['runsDelete']> {
    return this.runs.delete(params.runId, await this.accessOf(caller));
  }

  runsGc(params: Parameters<RuntimeApi['runsGc']>[0]): ReturnType<RuntimeApi['runsGc']> {
    return this.runs.gc(params.dryRun);
  }

  async runsCompare(params: Parameters<RuntimeApi['runsCompare']>[0], caller: CallerContext): ReturnType<RuntimeApi['runsCompare']> {
    return this.runs.compare(params, await this.accessOf(caller));
  }

  /**
   * What the caller sees and may change of the runs: a token its namespace (an admin all), and
   * for `changing`, a submitter only the runs it submitted; a component server the namespace of
   * the run whose item it serves; a program embedding the runtime everything.
   */
  private async accessOf(caller: CallerContext, changing?: string): Promise<RunAccess | undefined> {
    const { principal, parent } = caller;
    if (principal === undefined) return parent === undefined ? undefined : { namespace: await this.runs.namespaceOfRun(parent.runId) };
    const access: RunAccess = seesEveryNamespace(principal) ? {} : { namespace: principal.namespace };
    const othersRuns = changing === undefined ? undefined : accessOf(changing).othersRuns;
    if (othersRuns !== undefined && !roleAtLeast(principal.role, othersRuns)) {
      access.mayChange = (identity) => {
        if (identity.submittedBy !== principal.tokenName) requireRole(principal, `${changing} (of a run another token submitted)`, othersRuns);
      };
    }
    return access;
  }

  async runsItems(params: Parameters<RuntimeApi['runsItems']>[0], caller: CallerContext = {}): ReturnType<RuntimeApi['runsItems']> {
    return this.runs.items(params, await this.accessOf(caller));
  }

  async runsMetrics(params: Parameters<RuntimeApi['runsMetrics']>[0], caller: CallerContext = {}): ReturnType<RuntimeApi['runsMetrics']> {
    return this.runs.metrics(params.runId, await this.accessOf(caller));
  }
}
