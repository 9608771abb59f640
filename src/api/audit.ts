import { RpcError } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { Principal } from './access.js';

/** Who an audit line names: a token (its name and namespace), or `component` with its plugin, in the namespace of the run it serves. */
export interface AuditedCaller extends Pick<Principal, 'tokenName'> {
  namespace?: string;
  plugin?: string;
  /** The run whose item a component server serves. */
  parentRunId?: string;
}

/**
 * Writes one audit line when a mutating call settles (docs/security.md, "Audit"): pino JSON with
 * `audit: true`, its time, the token's name and namespace (a component server's: `component`, its
 * plugin and the run it serves), the method, the run it named or made, and the outcome (`ok`, or
 * `error` with the code).
 */
export function audited<T>(logger: Logger, principal: AuditedCaller, method: string, params: unknown, pending: Promise<T>): Promise<T> {
  const { tokenName, namespace, plugin, parentRunId } = principal;
  const line = { audit: true, tokenName, namespace, ...(plugin !== undefined && { plugin }), ...(parentRunId !== undefined && { parentRunId }), method };
  return pending.then(
    (result) => {
      logger.info({ ...line, runId: runIdOf(params) ?? runIdOf(result), outcome: 'ok' }, `audit: ${method} by ${principal.tokenName}: ok`);
      return result;
    },
    (error: unknown) => {
      const code = error instanceof RpcError ? error.code : undefined;
      logger.info({ ...line, runId: runIdOf(params), outcome: 'error', code }, `audit: ${method} by ${principal.tokenName}: refused`);
      throw error;
    },
  );
}

/**
 * The logger audit lines go to: `logger`, or a child of it at level `info` when it is set higher
 * (`warn`, `error`), so quieter logs keep the audit trail; `silent` drops it too.
 */
export function auditLogger(logger: Logger): Logger {
  if (logger.isLevelEnabled('info') || logger.level === 'silent') return logger;
  return logger.child({}, { level: 'info' });
}

function runIdOf(value: unknown): string | undefined {
  const runId = typeof value === 'object' && value !== null ? (value as { runId?: unknown }).runId : undefined;
  return typeof runId === 'string' ? runId : undefined;
}
