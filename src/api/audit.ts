import { RpcError } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import type { Principal } from './access.js';

/**
 * Writes one audit line when a mutating call settles (docs/security.md, "Audit"): pino JSON with
 * `audit: true`, its time, the token's name and namespace, the method, the run it named or made,
 * and the outcome (`ok`, or `error` with the code).
 */
export function audited<T>(logger: Logger, principal: Principal, method: string, params: unknown, pending: Promise<T>): Promise<T> {
  const line = { audit: true, tokenName: principal.tokenName, namespace: principal.namespace, method };
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
