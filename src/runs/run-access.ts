import { RpcError } from '../../protocol/index.js';
import type { RunIdentity } from './run-state.js';

/** The namespace of runs submitted without one, and of runs stored before namespaces existed. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * What a caller may see and change of the runs (docs/security.md). A run of another namespace
 * answers exactly as a run that does not exist, so its existence does not leak.
 */
export interface RunAccess {
  /** The one namespace the caller sees; undefined: every namespace (an admin, a program embedding the runtime). */
  namespace?: string;
  /** Throws when the caller may see this run but not change it (a submitter and another token's run). */
  mayChange?: (identity: RunIdentity) => void;
}

/** The answer to a run that does not exist, or is of a namespace the caller does not see: the same either way. */
export function runNotFound(runId: string): RpcError {
  return RpcError.notFound(`Run not found: ${runId}`, { runId });
}

/** Throws {@link runNotFound} unless `access` sees the run. */
export function requireVisible(identity: RunIdentity, access: RunAccess | undefined): void {
  if (access?.namespace !== undefined && namespaceOf(identity) !== access.namespace) throw runNotFound(identity.runId);
}

/**
 * The idempotency key as stored: a key names a run only within its namespace, so another
 * namespace's run of the same key is neither returned nor in the way. `default` keeps keys as given.
 */
export function scopedIdempotencyKey(key: string, namespace: string): string {
  return namespace === DEFAULT_NAMESPACE ? key : `${namespace}\u001f${key}`;
}

/** The idempotency key as the client gave it. */
export function clientIdempotencyKey(stored: string, namespace: string | undefined): string {
  const prefix = `${namespace ?? DEFAULT_NAMESPACE}\u001f`;
  return stored.startsWith(prefix) ? stored.slice(prefix.length) : stored;
}

/** The namespace a run belongs to. */
export function namespaceOf(identity: RunIdentity): string {
  return identity.namespace ?? DEFAULT_NAMESPACE;
}
