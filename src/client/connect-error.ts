import { FlowrunError } from '../errors.js';

/** A client could not open its connection: refused, unreachable, unauthorized (401), timed out or aborted. */
export class ConnectError extends FlowrunError {
  override name = 'ConnectError';
  constructor(
    readonly url: string,
    message: string,
    /** The HTTP status when the server answered the upgrade with an error (401, 404, 503…). */
    readonly status?: number,
    cause?: unknown,
  ) {
    super('CONNECT_FAILED', message, { cause });
  }
}
