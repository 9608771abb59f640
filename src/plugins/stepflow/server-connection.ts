import {
  ComponentsExecute,
  ErrorCodes,
  Initialize,
  Initialized,
  PROTOCOL_VERSION,
  RpcError,
  type FlowResult,
  type Observability,
  type ResultOut,
} from '../../../protocol/index.js';
import { ConnectionClosedError, RequestTimeoutError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { IntrusiveList } from '../../signals/intrusive-list.js';
import { RpcPeer, type ResponseSink } from '../../rpc/peer.js';
import type { CallerContext, RuntimeApi } from '../../api/runtime-api.js';
import { registerRuntimeHandlers } from '../../api/runtime-handlers.js';
import type { ComponentCall } from '../../calls/plugin.js';
import { ServerStartError, within, type ServerChannel, type ChannelOpener } from './server-channel.js';

export { ServerStartError } from './server-channel.js';

/** What a session needs besides its transport. */
export interface SessionOptions {
  plugin: string;
  logger: Logger;
  runtimeApi: RuntimeApi;
  initializeTimeoutMs: number;
}

/** What became of a server after its connection was lost. */
export interface LossReport {
  /** `exited (code 1)`, `closed the connection (code 1006)`, `stopped answering pings …`. */
  description: string;
  /**
   * Extra fields for error data: a spawned server's first stderr error line and last lines, a few
   * short lines. Every call lost with the server carries them, so they stay small.
   */
  details: { stderr?: string[] };
  /** A spawned server's last stderr lines (at most 4 KiB): logged once per incident, never copied into errors. */
  stderrTail?: string[];
}

/** Turns a failed execute request into what the call rejects with (the plugin's ComponentError). */
export interface ExecuteFailureMapper {
  executeFailed(error: unknown, connection: ServerConnection, call: ComponentCall): Promise<never>;
}

/**
 * One execute call in flight: the item it serves (found again by server callbacks) and the sink
 * of its request, settling the call's one promise. An object with methods rather than closures:
 * every component call of a run makes one.
 */
class ExecuteCall implements ResponseSink<ResultOut<typeof ComponentsExecute>> {
  settle!: (result: FlowResult) => void;
  fail!: (error: unknown) => void;
  /** Links in the connection's list of calls in flight. */
  prev: ExecuteCall | undefined;
  next: ExecuteCall | undefined;

  constructor(
    private readonly connection: ServerConnection,
    readonly call: ComponentCall,
    readonly observability: Observability,
    private readonly failures: ExecuteFailureMapper,
  ) {}

  resolve(result: ResultOut<typeof ComponentsExecute>): void {
    this.connection.callEnded(this, true);
    this.settle({ outcome: 'success', value: result.output });
  }

  reject(error: Error): void {
    this.connection.callEnded(this, false);
    // The mapper rejects with the call's error; a mapper that throws or resolves still settles the call.
    let mapped: Promise<never>;
    try {
      mapped = this.failures.executeFailed(error, this.connection, this.call);
    } catch (mapperError) {
      this.fail(mapperError);
      return;
    }
    mapped.then(() => this.fail(error), this.fail);
  }
}

/** How long a lost connection waits for the transport to report its end before destroying it. */
const END_REPORT_WAIT_MS = 1000;

/**
 * One initialized session with a component server over any transport (stdio or WebSocket): the
 * RPC peer, the runtime API served to the server, and the link from the server's callbacks to
 * the execute call they belong to.
 */
export class ServerConnection {
  /** Execute calls in flight, for `callerFor`. */
  private readonly inFlight = new IntrusiveList<ExecuteCall>();
  private shuttingDown = false;
  /** Set once the handshake succeeded; a server lost before that is reported by `open` instead. */
  private initialized = false;
  private lossReport: Promise<LossReport> | undefined;
  /**
   * Told when each execute call ends, before its promise settles: `true` when the server answered
   * with an output. A worker's pool counts its load by it (no promise per call for that).
   */
  onCallEnded: ((answered: boolean) => void) | undefined;

  private constructor(
    readonly options: SessionOptions,
    readonly transport: ServerChannel,
    readonly peer: RpcPeer,
  ) {
    const { plugin, logger } = options;
    void transport.ended.then((description) => {
      // A child's stdout normally closes with it; a grandchild holding it open must not keep calls pending.
      peer.close(new ConnectionClosedError(`component server "${plugin}" ${description}`, { plugin }));
    });
    peer.onClose(() => {
      if (this.shuttingDown || !this.initialized) return;
      void this.lostConnectionReport().then((report) =>
        logger.warn({ ...transport.details, stderrTail: report.stderrTail }, `component server "${plugin}" ${report.description}`),
      );
    });
  }

  /** Opens a transport, serves the runtime API over it and performs the initialize handshake. */
  static async open(opener: ChannelOpener, options: SessionOptions): Promise<ServerConnection> {
    const transport = await opener();
    const peer = new RpcPeer(transport.reader, transport.writer, { name: options.plugin, logger: options.logger });
    const connection = new ServerConnection(options, transport, peer);
    registerRuntimeHandlers(peer, options.runtimeApi, (_ctx, params) => connection.callerFor(params));
    peer.listen();
    try {
      await connection.initialize();
    } catch (error) {
      await connection.shutdown(0);
      throw error;
    }
    return connection;
  }

  /**
   * A session on a channel whose peer already speaks: a worker that dialled in and registered
   * (docs/workers.md) needs no `initialize`. Serves it the runtime API; the caller starts listening
   * and reports the connection's end (a worker leaving is no incident).
   */
  static adopt(transport: ServerChannel, peer: RpcPeer, options: SessionOptions): ServerConnection {
    const connection = new ServerConnection(options, transport, peer);
    // A worker calls back only for the calls it serves (docs/security.md): outside them it would act in no run's namespace.
    registerRuntimeHandlers(peer, options.runtimeApi, (_ctx, params) => connection.callerFor(params, true));
    return connection;
  }

  get isClosed(): boolean {
    return this.peer.isClosed;
  }

  /**
   * Sends `components/execute`, remembering the call so the server's callbacks find their parent
   * item. Resolves with the success result; rejects with what `failures` makes of a failed request.
   */
  execute(call: ComponentCall, observability: Observability, timeoutMs: number | undefined, failures: ExecuteFailureMapper): Promise<FlowResult> {
    const pending = new ExecuteCall(this, call, observability, failures);
    const promise = new Promise<FlowResult>((resolve, reject) => {
      pending.settle = resolve;
      pending.fail = reject;
    });
    this.inFlight.add(pending);
    const params = { component: call.component, input: call.input, attempt: call.attempt, observability };
    this.peer.sendRequestTo(ComponentsExecute, params, pending, call.signal, timeoutMs);
    return promise;
  }

  /** An execute call got its answer (or failed): server callbacks no longer find it. */
  callEnded(call: ExecuteCall, answered: boolean): void {
    this.inFlight.remove(call);
    this.onCallEnded?.(answered);
  }

  /**
   * The item a server callback belongs to: the in-flight execute whose run and step ids the
   * callback carries in `observability`, else the only execute in flight, else none. With
   * `servedOnly` (a worker) a callback acts for one of the calls it serves: without a match, the
   * first in flight (a server that sends no observability); with none in flight it is refused
   * with -32007. The SDK sends the observability of its call with every callback.
   */
  callerFor(params: unknown, servedOnly = false): CallerContext {
    const { plugin } = this.options;
    const claimed = observabilityOf(params);
    if (claimed?.run_id !== undefined && claimed.step_id !== undefined) {
      const pending = this.inFlight.find((c) => c.observability.run_id === claimed.run_id && c.observability.step_id === claimed.step_id);
      if (pending !== undefined) return { parent: pending.call.scope, plugin };
    }
    const only = this.inFlight.only;
    if (only !== undefined) return { parent: only.call.scope, plugin };
    if (servedOnly) {
      const first = this.inFlight.find(() => true);
      if (first !== undefined) return { parent: first.call.scope, plugin };
      throw new RpcError(ErrorCodes.PermissionDenied, `permission denied: ${plugin} may call back only while it serves a call, and serves none`, { role: 'worker' });
    }
    return { plugin };
  }

  /**
   * What became of the server after the connection was lost: waits briefly for the transport's
   * end (a process's exit status, a socket's close code) and destroys it if it is still around (a
   * server with a broken channel is useless). Computed once per connection.
   */
  lostConnectionReport(): Promise<LossReport> {
    this.lossReport ??= within(this.transport.ended, END_REPORT_WAIT_MS).then((ended) => {
      if (ended === undefined) this.transport.destroy();
      return { description: ended ?? this.transport.brokenDescription, details: this.diagnostics(), stderrTail: this.transport.stderr?.tail() };
    });
    return this.lossReport;
  }

  /** Closes the session, ends the transport politely, and destroys it after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    this.peer.close(new ConnectionClosedError(`component server "${this.options.plugin}" is shutting down`, { plugin: this.options.plugin }));
    await this.transport.shutdown(graceMs);
  }

  private async initialize(): Promise<void> {
    const { plugin, initializeTimeoutMs } = this.options;
    let result;
    try {
      result = await this.peer.sendRequest(
        Initialize,
        { runtime_protocol_version: PROTOCOL_VERSION },
        { timeoutMs: initializeTimeoutMs },
      );
    } catch (error) {
      throw await this.initializeFailure(error);
    }
    if (result.server_protocol_version !== PROTOCOL_VERSION) {
      throw new ServerStartError(
        {
          code: ErrorCodes.NotInitialized,
          message:
            `component server "${plugin}" speaks protocol version ${result.server_protocol_version}, ` +
            `but flowrun speaks version ${PROTOCOL_VERSION}`,
          data: { plugin, server_protocol_version: result.server_protocol_version, runtime_protocol_version: PROTOCOL_VERSION },
        },
        false,
        plugin,
      );
    }
    this.peer.sendNotification(Initialized, {});
    this.initialized = true;
  }

  private async initializeFailure(error: unknown): Promise<ServerStartError> {
    const { plugin } = this.options;
    const data = { plugin, ...this.transport.details };
    const named = `component server "${plugin}" (${this.transport.label})`;
    if (error instanceof RpcError) {
      return new ServerStartError(
        { code: error.code, message: `${named} refused initialize: ${error.message}`, data: { ...data, cause: error.toObject() } },
        false,
        plugin,
      );
    }
    if (error instanceof RequestTimeoutError) {
      const details = this.diagnostics();
      return new ServerStartError(
        {
          code: ErrorCodes.ResourceUnavailable,
          message: `${named} did not answer initialize within ${error.timeoutMs} ms${quoteStderr(details.stderr)}`,
          data: { ...data, ...details },
        },
        false,
        plugin,
        this.transport.stderr?.tail(),
      );
    }
    const report = await this.lostConnectionReport();
    return new ServerStartError(
      {
        code: ErrorCodes.ResourceUnavailable,
        message: `${named} ${report.description} before answering initialize${quoteStderr(report.details.stderr)}`,
        data: { ...data, ...report.details },
      },
      true,
      plugin,
      report.stderrTail,
    );
  }

  /** The brief stderr excerpt for error data (the first error line and the last lines). */
  private diagnostics(): { stderr?: string[] } {
    return this.transport.stderr === undefined ? {} : { stderr: this.transport.stderr.brief() };
  }
}

/** `; stderr: first error | … | last line` for an error message, or nothing when there was no stderr. */
export function quoteStderr(lines: readonly string[] | undefined): string {
  return lines === undefined || lines.length === 0 ? '' : `; stderr: ${lines.join(' | ')}`;
}

function observabilityOf(params: unknown): Observability | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const obs = (params as { observability?: unknown }).observability;
  return typeof obs === 'object' && obs !== null ? (obs as Observability) : undefined;
}
