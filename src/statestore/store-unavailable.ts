import { ErrorCodes, RpcError } from '../../protocol/index.js';

/**
 * Whether a state store operation failed because the store could not be reached (a dropped or
 * refused PostgreSQL connection, a server shutting down, a busy or full SQLite file), so the same
 * write may succeed later, rather than because of what was written. The journal retries the
 * former with backoff and isolates the latter to the item that caused it (docs/state-stores.md).
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NODE_NETWORK_CODES.has(code)) return true;
    // SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57P01–57P03 shutdown or
    // startup, 40001/40P01 serialization failure and deadlock (retrying is the documented remedy),
    // 25P03 a session the server ended while idle in a transaction (the process was starved or
    // paused; the transaction was rolled back).
    if (/^(08|53)[0-9A-Z]{3}$|^57P0[123]$|^40(001|P01)$|^25P03$/.test(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL)/.test(code)) return true;
  }
  // node-postgres reports a lost connection with these messages and no code.
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.some((text) => message.includes(text));
}

const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
];

/** `-32005` naming what failed when the store could not be reached; any other error as it is. */
export function asStoreError(err: unknown, what: string): unknown {
  if (!isStoreUnavailable(err)) return err;
  return new RpcError(ErrorCodes.ResourceUnavailable, `state store unavailable: ${what}: ${(err as Error).message}`);
}

/** Whether a store operation failed because the store was closed: nothing more can be written to it. */
export function isStoreClosed(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && (message.includes('state store is closed') || message.includes('database connection is not open'));
}
