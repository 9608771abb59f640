/**
 * Local errors: they never cross the wire as such. Each carries the identifiers of where it
 * happened (runId, itemIndex, stepId) and a `cause`. Wire errors are `RpcError` in protocol/.
 */
export interface ErrorContext {
  runId?: string;
  itemIndex?: number;
  stepId?: string;
  component?: string;
  plugin?: string;
  cause?: unknown;
}

export class FlowrunError extends Error {
  override name = 'FlowrunError';
  readonly runId?: string;
  readonly itemIndex?: number;
  readonly stepId?: string;
  readonly component?: string;
  readonly plugin?: string;

  constructor(
    /** A stable string code, e.g. `CONNECTION_CLOSED`. */
    readonly code: string,
    message: string,
    context: ErrorContext = {},
  ) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.runId = context.runId;
    this.itemIndex = context.itemIndex;
    this.stepId = context.stepId;
    this.component = context.component;
    this.plugin = context.plugin;
  }
}

/** The connection to a peer closed (process exited, socket dropped) while a request was pending. */
export class ConnectionClosedError extends FlowrunError {
  override name = 'ConnectionClosedError';
  constructor(message: string, context: ErrorContext = {}) {
    super('CONNECTION_CLOSED', message, context);
  }
}

/** A request got no answer within its `timeoutMs`. */
export class RequestTimeoutError extends FlowrunError {
  override name = 'RequestTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    context: ErrorContext = {},
  ) {
    super('REQUEST_TIMEOUT', `${method} timed out after ${timeoutMs} ms`, context);
  }
}

/** The caller aborted a request through its AbortSignal. */
export class RequestCancelledError extends FlowrunError {
  override name = 'RequestCancelledError';
  constructor(readonly method: string, context: ErrorContext = {}) {
    super('REQUEST_CANCELLED', `${method} was cancelled`, context);
  }
}

/** A config file is invalid; `file` and `field` say where. */
export class ConfigError extends FlowrunError {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly file?: string,
    readonly field?: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** A flow file could not be read or is invalid; `file`, `line` and `diagnostics` say where. */
export class FlowLoadError extends FlowrunError {
  override name = 'FlowLoadError';
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly diagnostics: ReadonlyArray<{ level: string; stepId?: string; field?: string; message: string }> = [],
  ) {
    super('FLOW_INVALID', message);
  }
}

/**
 * A SQLite state store is already held by another process: one process per SQLite file
 * (docs/state-stores.md). `pid` and `host` name the holder when it could be told.
 */
export class StateStoreInUseError extends FlowrunError {
  override name = 'StateStoreInUseError';
  constructor(
    readonly path: string,
    readonly holder: { pid: number; host: string } | undefined,
  ) {
    const who = holder === undefined ? 'another flowrun process' : `another flowrun process (pid ${holder.pid} on host ${holder.host})`;
    super(
      'STATE_STORE_IN_USE',
      `state store ${path} is in use by ${who}; one process per SQLite file — stop it, ` +
        'or use a PostgreSQL state store to run several nodes',
    );
  }
}
