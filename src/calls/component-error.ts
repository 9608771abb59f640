import { ErrorCodes, type RpcErrorObject } from '../../protocol/index.js';
import { FlowrunError, type ErrorContext } from '../errors.js';

/**
 * A component call failed: the component answered with a JSON-RPC error, or the call could not
 * be completed (`-32005` transport down after retries, `-32006` timeout, `-32800` cancelled,
 * `-32001` component not found). `error` is what goes into the step failure's `cause`.
 */
export class ComponentError extends FlowrunError {
  override name = 'ComponentError';
  /**
   * True when the call was lost with its connection (the server died, the socket dropped): the
   * executor retries it on a fresh connection. Set by the plugin, never inferred from the code —
   * a component may answer -32005 itself, and that is a component error for `onError`.
   */
  readonly isTransportFailure: boolean;

  constructor(
    readonly error: RpcErrorObject,
    context: ErrorContext = {},
    options: { transport?: boolean } = {},
  ) {
    super('COMPONENT_FAILED', error.message, context);
    this.isTransportFailure = options.transport ?? false;
  }

  /** A lost-connection failure (`-32005`), which the executor retries. */
  static transport(error: RpcErrorObject, context: ErrorContext = {}): ComponentError {
    return new ComponentError(error, context, { transport: true });
  }
}
