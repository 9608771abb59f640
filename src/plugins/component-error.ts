import { ErrorCodes, type RpcErrorObject } from '../../protocol/index.js';
import { FlowrunError, type ErrorContext } from '../errors.js';

/**
 * A component call failed: the component answered with a JSON-RPC error, or the call could not
 * be completed (`-32005` transport down after retries, `-32006` timeout, `-32800` cancelled,
 * `-32001` component not found). `error` is what goes into the step failure's `cause`.
 */
export class ComponentError extends FlowrunError {
  override name = 'ComponentError';
  constructor(
    readonly error: RpcErrorObject,
    context: ErrorContext = {},
  ) {
    super('COMPONENT_FAILED', error.message, context);
  }

  /** True when the failure was a lost connection or dead server, which warrants a retry. */
  get isTransportFailure(): boolean {
    return this.error.code === ErrorCodes.ResourceUnavailable;
  }
}
