import {
  ComponentsExecute,
  ErrorCodes,
  Initialize,
  Initialized,
  PROTOCOL_VERSION,
  RpcError,
  type Observability,
} from '../../../protocol/index.js';
import { ConnectionClosedError, RequestTimeoutError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { RpcPeer, type RequestOptions } from '../../rpc/peer.js';
import type { CallerContext, RuntimeApi } from '../../server/runtime-api.js';
import { registerRuntimeHandlers } from '../../server/runtime-handlers.js';
import { spawnStdioProcess, type ProcessExit, type StdioProcess } from '../../transport/child-process.js';
import { ComponentError } from '../component-error.js';
import type { ExecutionScope } from '../plugin.js';

/** What it takes to spawn and initialize one component server process. */
export interface ServerLaunch {
  plugin: string;
  command: string;
  args: readonly string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  logger: Logger;
  runtimeApi: RuntimeApi;
  maxMessageBytes?: number;
  initializeTimeoutMs: number;
}

/** Why a server could not be brought up; `retryable` is false when trying again cannot help. */
export class ServerStartError extends ComponentError {
  override name = 'ServerStartError';
  constructor(
    error: { code: number; message: string; data?: unknown },
    readonly retryable: boolean,
    plugin: string,
  ) {
    super(error, { plugin });
  }
}

/** An execute call in flight on a connection: the item it serves, found again by server callbacks. */
interface InFlightCall {
  scope: ExecutionScope;
  observability: Observability;
}

/** Stderr lines quoted in error messages; the full tail goes into `data.stderr`. */
const STDERR_LINES_IN_MESSAGE = 5;
/** How long a lost connection waits for the process's exit status before reporting without it. */
const EXIT_REPORT_WAIT_MS = 1000;

/**
 * One spawned and initialized component server process and the RPC peer over its stdio. Serves
 * the runtime API to the server, and links the server's callbacks to the execute call they
 * belong to.
 */
export class ServerConnection {
  private readonly inFlight = new Map<number, InFlightCall>();
  private nextCallId = 1;
  private shuttingDown = false;
  /** Set once the handshake succeeded; a server dying before that is reported by `open` instead. */
  private initialized = false;
  private lossReport: Promise<{ description: string; stderr: string[] }> | undefined;

  private constructor(
    readonly launch: ServerLaunch,
    readonly process: StdioProcess,
    readonly peer: RpcPeer,
  ) {
    void process.exited.then((exit) => {
      // stdout normally closes with the process; a grandchild holding it open must not keep calls pending.
      peer.close(new ConnectionClosedError(`component server "${launch.plugin}" exited (${describeExit(exit)})`, { plugin: launch.plugin }));
    });
    peer.onClose(() => {
      if (this.shuttingDown || !this.initialized) return;
      void this.lostConnectionReport().then((report) =>
        launch.logger.warn({ stderr: report.stderr }, `component server "${launch.plugin}" ${report.description}`),
      );
    });
  }

  /** Spawns the server, serves the runtime API to it and performs the initialize handshake. */
  static async open(launch: ServerLaunch): Promise<ServerConnection> {
    let proc: StdioProcess;
    try {
      proc = await spawnStdioProcess({
        command: launch.command,
        args: launch.args,
        env: launch.env,
        cwd: launch.cwd,
        name: launch.plugin,
        logger: launch.logger,
        maxMessageBytes: launch.maxMessageBytes,
      });
    } catch (error) {
      throw new ServerStartError(
        {
          code: ErrorCodes.ResourceUnavailable,
          message: `component server "${launch.plugin}" (command "${commandLine(launch)}") failed to start: ${errorMessage(error)}`,
          data: { plugin: launch.plugin, command: launch.command, args: launch.args, stderr: [] },
        },
        true,
        launch.plugin,
      );
    }
    const peer = new RpcPeer(proc.reader, proc.writer, { name: launch.plugin, logger: launch.logger });
    const connection = new ServerConnection(launch, proc, peer);
    registerRuntimeHandlers(peer, launch.runtimeApi, (_ctx, params) => connection.callerFor(params));
    peer.listen();
    try {
      await connection.initialize();
    } catch (error) {
      await connection.shutdown(0);
      throw error;
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.peer.isClosed;
  }

  /** Sends `components/execute`, remembering the call so the server's callbacks find their parent item. */
  async execute(
    component: string,
    input: unknown,
    attempt: number,
    scope: ExecutionScope,
    observability: Observability,
    options: RequestOptions,
  ): Promise<unknown> {
    const id = this.nextCallId++;
    this.inFlight.set(id, { scope, observability });
    try {
      const result = await this.peer.sendRequest(ComponentsExecute, { component, input, attempt, observability }, options);
      return result.output;
    } finally {
      this.inFlight.delete(id);
    }
  }

  /**
   * The item a server callback belongs to: the in-flight execute whose run and step ids the
   * callback carries in `observability`, else the only execute in flight, else none.
   */
  callerFor(params: unknown): CallerContext {
    const claimed = observabilityOf(params);
    if (claimed?.run_id !== undefined && claimed.step_id !== undefined) {
      for (const call of this.inFlight.values()) {
        if (call.observability.run_id === claimed.run_id && call.observability.step_id === claimed.step_id) {
          return { parent: call.scope };
        }
      }
    }
    if (this.inFlight.size === 1) {
      const [only] = this.inFlight.values();
      return { parent: only!.scope };
    }
    return {};
  }

  /**
   * What became of the process after its connection was lost: waits briefly for the exit status,
   * and kills the process if it is still around (a server with a broken stdout is useless).
   * Computed once per connection.
   */
  lostConnectionReport(): Promise<{ description: string; stderr: string[] }> {
    this.lossReport ??= within(this.process.exited, EXIT_REPORT_WAIT_MS).then((exit) => {
      if (exit === undefined) this.process.kill('SIGKILL');
      return {
        description: exit === undefined ? 'closed its stdout' : `exited (${describeExit(exit)})`,
        stderr: this.process.stderrTail(),
      };
    });
    return this.lossReport;
  }

  /** Closes stdin, waits up to `graceMs` for the process to exit, then kills it. */
  async shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    this.peer.close(new ConnectionClosedError(`component server "${this.launch.plugin}" is shutting down`, { plugin: this.launch.plugin }));
    this.process.writer.end();
    const exit = await within(this.process.exited, graceMs);
    if (exit === undefined) {
      this.process.kill('SIGKILL');
      await this.process.exited;
    }
  }

  private async initialize(): Promise<void> {
    const { plugin, initializeTimeoutMs } = this.launch;
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
    const { plugin } = this.launch;
    const data = { plugin, command: this.launch.command, args: this.launch.args, pid: this.process.pid };
    const named = `component server "${plugin}" (command "${commandLine(this.launch)}")`;
    if (error instanceof RpcError) {
      return new ServerStartError(
        { code: error.code, message: `${named} refused initialize: ${error.message}`, data: { ...data, cause: error.toObject() } },
        false,
        plugin,
      );
    }
    if (error instanceof RequestTimeoutError) {
      const stderr = this.process.stderrTail();
      return new ServerStartError(
        {
          code: ErrorCodes.ResourceUnavailable,
          message: `${named} did not answer initialize within ${error.timeoutMs} ms${quoteStderr(stderr)}`,
          data: { ...data, stderr },
        },
        false,
        plugin,
      );
    }
    const report = await this.lostConnectionReport();
    return new ServerStartError(
      {
        code: ErrorCodes.ResourceUnavailable,
        message: `${named} ${report.description} before answering initialize${quoteStderr(report.stderr)}`,
        data: { ...data, stderr: report.stderr },
      },
      true,
      plugin,
    );
  }
}

/** `; last stderr: a | b | c` for an error message, or nothing when stderr was empty. */
export function quoteStderr(lines: readonly string[]): string {
  const last = lines.filter((l) => l.trim() !== '').slice(-STDERR_LINES_IN_MESSAGE);
  return last.length === 0 ? '' : `; last stderr: ${last.join(' | ')}`;
}

function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function commandLine(launch: ServerLaunch): string {
  return [launch.command, ...launch.args].join(' ');
}

function observabilityOf(params: unknown): Observability | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const obs = (params as { observability?: unknown }).observability;
  return typeof obs === 'object' && obs !== null ? (obs as Observability) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `promise`'s value if it settles within `ms`, else undefined. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
