import { ComponentsList, ErrorCodes, type ComponentInfo, type FlowResult } from '../../protocol/index.js';
import type { ErrorContext } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { RuntimeApi } from '../api/runtime-api.js';
import { delayMs, nonEmptyString } from '../options.js';
import { DEFAULT_PING_INTERVAL_MS } from '../transport/keep-alive.js';
import { ComponentError } from '../calls/component-error.js';
import type { ComponentCall, Plugin } from '../calls/plugin.js';
import { SharedObservability } from './stepflow/shared-observability.js';
import { requestFailure } from './stepflow/request-failure.js';
import { ServerConnection, ServerStartError, type ExecuteFailureMapper, type SessionOptions } from './stepflow/server-connection.js';
import type { ChannelOpener } from './stepflow/server-channel.js';
import { stdioOpener } from './stepflow/stdio-channel.js';
import { webSocketOpener } from './stepflow/websocket-channel.js';

/** Options of {@link StepflowPlugin} common to both transports. */
interface StepflowPluginCommonOptions {
  /** The plugin name from the config; names the server in logs and errors. */
  name: string;
  /**
   * Default per-call timeout of `components/execute` and `components/list`, in ms; a call's own
   * (the step's `timeoutMs`) wins. Default 300 000 (5 min): a hung server, or one whose answers
   * never match (a wrong id, an over-long line), fails the call with -32006 instead of leaving it
   * running for ever.
   */
  timeoutMs?: number;
  /** Bound on the `initialize` handshake, in ms, so a server that never answers cannot hang startup. Default 10 000. */
  initializeTimeoutMs?: number;
  /**
   * How long `close()` waits for the server to go (process exit, socket close) before forcing it,
   * in ms; a process group gets this long after its stdin closed, and as long again after SIGTERM,
   * before SIGKILL. Default 2 000.
   */
  closeTimeoutMs?: number;
  /** Receives the server's stderr lines (debug) and lifecycle events. Default: a pino logger on stderr. */
  logger?: Logger;
  /** What the server's callbacks (`blobs/*`, `runs/*`) reach. */
  runtimeApi: RuntimeApi;
  /** Cap on one incoming message (stdout line or WebSocket frame). Default 64 MiB. */
  maxMessageBytes?: number;
}

/** A component server spawned as a child process speaking NDJSON on stdio. */
export interface StepflowStdioPluginOptions extends StepflowPluginCommonOptions {
  command: string;
  /** Default `[]`. */
  args?: readonly string[];
  /** Variables set for the server, on top of the runtime's own environment unless `inheritEnv` is false. */
  env?: Record<string, string>;
  /** Default: the runtime's working directory. */
  cwd?: string;
  /** Pass the runtime's environment to the server. Default true. */
  inheritEnv?: boolean;
  url?: undefined;
}

/** A component server already listening on a WebSocket URL. */
export interface StepflowWebSocketPluginOptions extends StepflowPluginCommonOptions {
  /** `ws://host:port/path` or `wss://…`. */
  url: string;
  /** Bound on connecting (TCP connect + upgrade), in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Keep-alive ping interval, in ms; a server silent for 2 intervals counts as dead. Default 15 000. */
  pingIntervalMs?: number;
  command?: undefined;
}

/** Options of {@link StepflowPlugin}: `command` for a stdio server, `url` for a WebSocket one. */
export type StepflowPluginOptions = StepflowStdioPluginOptions | StepflowWebSocketPluginOptions;

/** docs/component-servers.md lists these defaults. */
export const DEFAULT_CALL_TIMEOUT_MS = 300_000;
const DEFAULT_INITIALIZE_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;
/** Consecutive failed connects (spawns that die before `initialize`, refused dials) before a start or a call gives up. */
const MAX_CONNECT_ATTEMPTS = 5;
const RECONNECT_BACKOFF_INITIAL_MS = 100;
const RECONNECT_BACKOFF_MAX_MS = 5_000;

/**
 * A Stepflow component server (`type: stepflow`, docs/config.md): spawned with `command` (stdio) or dialled
 * at `url` (WebSocket). Opens and initializes a session, serves it the runtime API for its
 * callbacks, and opens a fresh one on the next call after the server died or the connection
 * dropped. A call lost with its connection fails with -32005 (which the executor retries). Both
 * transports share the session logic; they differ only in how a transport is opened.
 */
export class StepflowPlugin implements Plugin, ExecuteFailureMapper {
  readonly name: string;
  private readonly open: ChannelOpener;
  private readonly session: SessionOptions;
  private readonly timeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly logger: Logger;
  private connection: ServerConnection | undefined;
  /** The connect in progress, shared by every call that needs a server meanwhile. */
  private connecting: Promise<ServerConnection> | undefined;
  private closed = false;
  private readonly observability = new SharedObservability();

  constructor(options: StepflowPluginOptions) {
    const name = nonEmptyString('StepflowPlugin: "name"', options.name);
    this.name = name;
    this.timeoutMs = delayMs(`"plugins.${name}.timeoutMs"`, options.timeoutMs, DEFAULT_CALL_TIMEOUT_MS);
    this.closeTimeoutMs = delayMs('"closeTimeoutMs"', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS);
    this.logger = options.logger ?? createLogger().child({ plugin: name });
    this.session = {
      plugin: name,
      logger: this.logger,
      runtimeApi: options.runtimeApi,
      initializeTimeoutMs: delayMs('"initializeTimeoutMs"', options.initializeTimeoutMs, DEFAULT_INITIALIZE_TIMEOUT_MS),
    };
    this.open = options.url !== undefined ? diallerFor(options, this.logger) : spawnerFor(options, this.logger, this.closeTimeoutMs);
  }

  /** The running server's process id, if a spawned one is up (for diagnostics). */
  get pid(): number | undefined {
    return this.connection !== undefined && !this.connection.isClosed ? this.connection.transport.pid : undefined;
  }

  /**
   * Connects and initializes the server, retrying a server that dies before `initialize` with the
   * same backoff as a restart after a crash; rejects with an error naming the plugin, the command
   * or URL, and the server's stderr lines that say why.
   */
  async start(): Promise<void> {
    await this.ready(MAX_CONNECT_ATTEMPTS);
  }

  execute(call: ComponentCall): Promise<FlowResult> {
    // The common case: connected and not cancelled. Error context and messages are built only on failure.
    const live = this.connection;
    if (live !== undefined && !live.isClosed && !this.closed && call.signal?.aborted !== true) return this.executeOn(live, call);
    return this.readyFor(call.signal, componentWhat(call), callContext(this.name, call)).then((connection) => this.executeOn(connection, call));
  }

  async listComponents(): Promise<ComponentInfo[]> {
    const context: ErrorContext = { plugin: this.name };
    const what = 'components/list';
    const connection = await this.readyFor(undefined, what, context);
    try {
      const result = await connection.peer.sendRequest(ComponentsList, {}, { timeoutMs: this.timeoutMs });
      return result.components;
    } catch (error) {
      throw await this.callFailure(error, connection, what, context);
    }
  }

  /** Sends one execute on `connection`; a failure becomes the ComponentError the executor expects. */
  private executeOn(connection: ServerConnection, call: ComponentCall): Promise<FlowResult> {
    return connection.execute(call, this.observability.for(call), call.timeoutMs ?? this.timeoutMs, this);
  }

  /** ExecuteFailureMapper: how a failed execute request rejects its call. */
  async executeFailed(error: unknown, connection: ServerConnection, call: ComponentCall): Promise<never> {
    throw await this.callFailure(error, connection, componentWhat(call), callContext(this.name, call));
  }

  /** Closes the server's stdin (or the socket), waits for it to go (up to `closeTimeoutMs`), then forces it. */
  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.shutdown(this.closeTimeoutMs);
  }

  /** A live connection, opening one (with up to `maxAttempts` tries) when there is none. */
  private ready(maxAttempts: number): Promise<ServerConnection> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.connection !== undefined && !this.connection.isClosed) return Promise.resolve(this.connection);
    this.connecting ??= this.connect(maxAttempts).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** `ready()` for one call: honours its abort signal and reports failures with the call's context. */
  private async readyFor(signal: AbortSignal | undefined, what: string, context: ErrorContext): Promise<ServerConnection> {
    const cancelled = (): ComponentError =>
      new ComponentError(
        { code: ErrorCodes.RequestCancelled, message: `${what} on plugin "${this.name}" was cancelled`, data: { plugin: this.name, component: context.component } },
        context,
      );
    if (signal?.aborted) throw cancelled();
    // The common case: connected. No race, no listener on the (shared) signal.
    const live = this.connection;
    if (live !== undefined && !live.isClosed && !this.closed) return live;
    try {
      return await raceAbort(this.ready(MAX_CONNECT_ATTEMPTS), signal, cancelled);
    } catch (error) {
      if (error instanceof ComponentError) throw new ComponentError(error.error, { ...context, cause: error });
      throw error;
    }
  }

  /**
   * Opens and initializes a session, retrying retryable failures (a server dying before
   * `initialize`, a refused dial) with capped exponential backoff: 100 ms doubling up to 5 s.
   */
  private async connect(maxAttempts: number): Promise<ServerConnection> {
    let last: ServerStartError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        await sleep(Math.min(RECONNECT_BACKOFF_INITIAL_MS * 2 ** (attempt - 2), RECONNECT_BACKOFF_MAX_MS));
      }
      if (this.closed) throw this.closedError();
      try {
        const connection = await ServerConnection.open(this.open, this.session);
        if (this.closed) {
          await connection.shutdown(0);
          throw this.closedError();
        }
        this.connection = connection;
        this.logger.debug(connection.transport.details, `component server "${this.name}" initialized`);
        return connection;
      } catch (error) {
        if (!(error instanceof ServerStartError) || !error.retryable) throw error;
        last = error;
        // One log line per failed process (one incident), with its stderr tail; errors carry a brief excerpt.
        this.logger.warn({ attempt, err: error.message, stderrTail: error.stderrTail }, `component server "${this.name}" could not be connected`);
      }
    }
    if (maxAttempts === 1) throw last!;
    throw new ServerStartError(
      { ...last!.error, message: `${last!.message} (gave up after ${maxAttempts} attempts)` },
      false,
      this.name,
      last!.stderrTail,
    );
  }

  /** Maps a failed request to the ComponentError the executor expects (docs/component-servers.md, docs/protocol.md "Errors"). */
  private callFailure(error: unknown, connection: ServerConnection, what: string, context: ErrorContext): Promise<ComponentError> {
    const server = { phrase: `component server "${this.name}"`, where: `plugin "${this.name}"`, data: { plugin: this.name } };
    return requestFailure(error, connection, what, context, server, this.closed ? this.closedError() : undefined);
  }

  private closedError(): ComponentError {
    return new ComponentError(
      { code: ErrorCodes.ResourceUnavailable, message: `plugin "${this.name}" is closed`, data: { plugin: this.name } },
      { plugin: this.name },
    );
  }
}

/** Opens stdio transports: spawns `command`. */
function spawnerFor(options: StepflowStdioPluginOptions, logger: Logger, killGraceMs: number): ChannelOpener {
  nonEmptyString(`StepflowPlugin: "plugins.${options.name}.command"`, options.command);
  const inheritEnv = options.inheritEnv ?? true;
  return stdioOpener({
    plugin: options.name,
    command: options.command,
    args: [...(options.args ?? [])],
    env: inheritEnv ? { ...process.env, ...options.env } : { ...options.env },
    cwd: options.cwd,
    logger,
    maxMessageBytes: options.maxMessageBytes,
    killGraceMs,
  });
}

/** Opens WebSocket transports: dials `url`. */
function diallerFor(options: StepflowWebSocketPluginOptions, logger: Logger): ChannelOpener {
  nonEmptyString(`StepflowPlugin: "plugins.${options.name}.url"`, options.url);
  if (!/^wss?:\/\//i.test(options.url)) {
    throw new TypeError(`StepflowPlugin: "plugins.${options.name}.url" must be a ws:// or wss:// URL, got "${options.url}"`);
  }
  return webSocketOpener({
    plugin: options.name,
    url: options.url,
    logger,
    maxMessageBytes: options.maxMessageBytes,
    connectTimeoutMs: delayMs(`"plugins.${options.name}.connectTimeoutMs"`, options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    pingIntervalMs: delayMs('pingIntervalMs', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS),
  });
}

/** How errors name an execute call. */
export function componentWhat(call: ComponentCall): string {
  return `component "${call.component}"`;
}

/** The error context of an execute call. */
export function callContext(plugin: string, call: ComponentCall): ErrorContext {
  return { plugin, component: call.component, runId: call.scope.runId, itemIndex: call.scope.itemIndex, stepId: call.scope.stepId };
}

/** `promise`, unless `signal` aborts first: then rejects with `onAbort()` (the promise goes on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort: () => Error): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
