import { ErrorCodes, FLOW_SCHEMA_URL, MAX_JSON_DEPTH, RpcError, describeFirstIssue, exceedsJsonDepth } from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { normalizeBlobId } from '../../blobstore/blob-id.js';
import type { CompiledFlow } from '../flow/compile.js';
import { compileFlow } from '../flow/compile.js';
import { validateFlow } from '../flow/validate.js';

const MAX_ENTRIES = 256;

/**
 * Compiled flows by blob id, so a flow submitted many times is loaded and compiled once.
 * Blobs are immutable, so entries never go stale; the oldest is dropped past MAX_ENTRIES.
 */
export class FlowCache {
  private readonly compiled = new Map<string, CompiledFlow>();

  constructor(private readonly blobs: BlobStore) {}

  /** Loads and compiles the flow blob `flowId`: -32011 when missing, -32602 when not a valid flow. */
  async load(rawId: string): Promise<{ flowId: string; compiled: CompiledFlow }> {
    const flowId = normalizeBlobId(rawId);
    if (flowId === undefined) {
      throw RpcError.invalidParams(`Invalid params for runs/submit: field "flowId": not a blob id (sha256:<64 hex>)`, { flowId: rawId });
    }
    const hit = this.compiled.get(flowId);
    if (hit) return { flowId, compiled: hit };
    const blob = await this.blobs.get(flowId);
    if (!blob) throw new RpcError(ErrorCodes.NotFound, `Flow not found: ${flowId}`, { flowId });
    // Content addressing gives a flow put after a data put of the same JSON the same id, and the
    // store keeps the first type: so a `data` blob that declares itself a flow is taken as one.
    if (blob.blobType !== 'flow' && !declaresFlow(blob.data)) {
      throw RpcError.invalidParams(`Blob ${flowId} is not a flow (blob_type "${blob.blobType}")`, { flowId, blob_type: blob.blobType });
    }
    return { flowId, compiled: this.remember(flowId, compileOrInvalid(blob.data, `blob ${flowId}`, { flowId, blob_type: blob.blobType })) };
  }

  /** Validates an inline flow, stores it as a flow blob and compiles it. */
  async putInline(flow: unknown): Promise<{ flowId: string; compiled: CompiledFlow }> {
    const compiled = compileOrInvalid(flow, 'inline flow');
    const flowId = await this.blobs.put(flow, 'flow');
    return { flowId, compiled: this.remember(flowId, compiled) };
  }

  private remember(flowId: string, compiled: CompiledFlow): CompiledFlow {
    if (this.compiled.size >= MAX_ENTRIES) this.compiled.delete(this.compiled.keys().next().value!);
    this.compiled.set(flowId, compiled);
    return compiled;
  }
}

/** Compiles a flow or throws -32602 with the diagnostics (and `data`, naming the culprit). */
export function compileOrInvalid(flow: unknown, what: string, data: Record<string, unknown> = {}): CompiledFlow {
  // Validation recurses through the flow: bound its depth first (docs/state-stores.md).
  if (exceedsJsonDepth(flow)) {
    throw RpcError.invalidParams(`Invalid flow (${what}): nested deeper than ${MAX_JSON_DEPTH} levels`, { ...data, maxDepth: MAX_JSON_DEPTH });
  }
  const { flow: parsed, diagnostics } = validateFlow(flow);
  const errors = diagnostics.filter((d) => d.level === 'error');
  if (!parsed || errors.length > 0) {
    throw RpcError.invalidParams(`Invalid flow (${what}): ${describeFirstIssue(errors)}`, { ...data, diagnostics: errors });
  }
  return compileFlow(parsed);
}

/** A value with the v1 flow schema URL or a `steps` list: a flow stored as data. */
function declaresFlow(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.schema === FLOW_SCHEMA_URL || Array.isArray(v.steps);
}
