/** JSON-RPC error codes used on the wire (docs/protocol.md, "Errors"). The one place they are defined. */
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ComponentNotFound: -32001,
  NotInitialized: -32002,
  ComponentExecutionFailed: -32004,
  ResourceUnavailable: -32005,
  Timeout: -32006,
  PermissionDenied: -32007,
  BlobNotFound: -32008,
  ExpressionFailed: -32009,
  NotFound: -32011,
  InvalidValue: -32012,
  Conflict: -32013,
  TooManyRequests: -32014,
  RequestCancelled: -32800,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The error object of a JSON-RPC error response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * A protocol error: it crosses the wire as a JSON-RPC error response.
 * Handlers throw it; callers receive it when the peer answered with an error.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  /** The wire form, `{code, message, data?}`. */
  toObject(): RpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  static fromObject(error: RpcErrorObject): RpcError {
    return new RpcError(error.code, error.message, error.data);
  }

  static invalidParams(message: string, data?: unknown): RpcError {
    return new RpcError(ErrorCodes.InvalidParams, message, data);
  }

  static notFound(message: string, data?: unknown): RpcError {
    return new RpcError(ErrorCodes.NotFound, message, data);
  }
}
