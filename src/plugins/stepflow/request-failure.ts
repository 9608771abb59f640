import { ErrorCodes, RpcError } from '../../../protocol/index.js';
import { ConnectionClosedError, RequestCancelledError, RequestTimeoutError, type ErrorContext } from '../../errors.js';
import { ComponentError } from '../../calls/component-error.js';
import { quoteStderr, type ServerConnection } from './server-connection.js';

/** How errors name the server a request went to, and the fields that identify it in error data. */
export interface ServerNaming {
  /** Who lost the connection: `component server "tools"`, `worker "gpu-1" of pool "gpu"`. */
  phrase: string;
  /** Where a call timed out or was cancelled: `plugin "tools"`, `worker "gpu-1" of pool "gpu"`. */
  where: string;
  data: Readonly<Record<string, unknown>>;
}

/**
 * Maps a failed request on `connection` to the ComponentError the executor expects
 * (docs/component-servers.md, docs/protocol.md "Errors"): the server's own error, a timeout, a
 * cancel, or a lost connection, which is a transport failure the executor retries. `closed` is
 * what a failure becomes once the plugin itself is closed.
 */
export async function requestFailure(
  error: unknown,
  connection: ServerConnection,
  what: string,
  context: ErrorContext,
  server: ServerNaming,
  closed?: ComponentError,
): Promise<ComponentError> {
  const ctx = { ...context, cause: error };
  const component = context.component;
  if (error instanceof RpcError) return new ComponentError(error.toObject(), ctx);
  if (error instanceof RequestTimeoutError) {
    return new ComponentError(
      {
        code: ErrorCodes.Timeout,
        message: `${what} on ${server.where} timed out after ${error.timeoutMs} ms`,
        data: { ...server.data, component, timeoutMs: error.timeoutMs },
      },
      ctx,
    );
  }
  if (error instanceof RequestCancelledError) {
    return new ComponentError({ code: ErrorCodes.RequestCancelled, message: `${what} on ${server.where} was cancelled`, data: { ...server.data, component } }, ctx);
  }
  if (closed !== undefined) return new ComponentError(closed.error, ctx);
  if (error instanceof ConnectionClosedError || connection.isClosed) {
    const report = await connection.lostConnectionReport();
    return ComponentError.transport(
      {
        code: ErrorCodes.ResourceUnavailable,
        message: `${server.phrase} ${report.description} while running ${what}${quoteStderr(report.details.stderr)}`,
        data: { ...server.data, component, ...connection.transport.details, ...report.details },
      },
      ctx,
    );
  }
  return ComponentError.transport(
    {
      code: ErrorCodes.ResourceUnavailable,
      message: `${server.phrase}: ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
      data: { ...server.data, component },
    },
    ctx,
  );
}
