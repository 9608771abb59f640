import { z } from 'zod';
import type { MessageReader, MessageWriter } from 'vscode-jsonrpc';
import {
  ComponentsExecute,
  ComponentsInfo,
  ComponentsList,
  ErrorCodes,
  Initialize,
  Initialized,
  PROTOCOL_VERSION,
  RpcError,
  type ComponentInfo,
  type ParamsOut,
  type ResultIn,
} from '../../protocol/index.js';
import { createLogger, type Logger } from '../log.js';
import { RpcPeer, type RequestContext } from '../rpc/peer.js';
import { ExecutionContext } from './component-context.js';
import { checkComponentOutput, parseComponentInput } from './component-validation.js';
import { normalizeComponentName, type Component } from './define-component.js';
import { runComponentServer } from './run.js';
import { serveOverStdio } from './stdio.js';
import type { ServeWebSocketOptions, WebSocketServing } from './websocket.js';
import type { ServeWorkerOptions, WorkerServing } from './worker.js';

/** Options of {@link createComponentServer}. */
export interface ComponentServerOptions {
  /** Names the server in logs. */
  name: string;
  // Handlers are contravariant in their input, so the list takes components of any schemas.
  components: ReadonlyArray<Component<any, any>>;
  /** Check every output against its component's `output` schema (a mismatch fails the call with -32004). Default true. */
  validateOutput?: boolean;
  /** Where the server logs; always stderr. Default: a pino logger named after the server. */
  logger?: Logger;
  /** Longest accepted stdin line or WebSocket frame, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
}

/** One served connection to a runtime. */
export interface ComponentServerConnection {
  readonly peer: RpcPeer;
  /** Resolves when the connection closed (the runtime hung up, or `close()`). */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * A component server (docs/sdk.md): answers `initialize`, `components/list`, `components/info` and
 * `components/execute` for its components, and gives each handler a context that calls back
 * into the runtime.
 */
export class ComponentServer {
  readonly name: string;
  readonly logger: Logger;
  readonly maxMessageBytes: number | undefined;
  private readonly components = new Map<string, Component>();
  private readonly infos: ComponentInfo[];
  private readonly validateOutput: boolean;

  constructor(options: ComponentServerOptions) {
    if (typeof options.name !== 'string' || options.name === '') throw new Error('createComponentServer: "name" is required');
    this.name = options.name;
    this.logger = options.logger ?? createLogger(options.name);
    this.validateOutput = options.validateOutput ?? true;
    this.maxMessageBytes = options.maxMessageBytes;
    for (const component of options.components) {
      const name = normalizeComponentName(component.name);
      if (this.components.has(name)) throw new Error(`createComponentServer: component "${name}" is defined twice`);
      this.components.set(name, { ...component, name });
    }
    this.infos = [...this.components.values()].map(describeComponent);
  }

  /** The components this server offers, with their JSON Schemas. */
  listComponents(): ComponentInfo[] {
    return this.infos.map((info) => ({ ...info }));
  }

  /** Serves one runtime connection over a reader/writer pair (stdio, WebSocket, or in memory for tests). */
  serve(reader: MessageReader, writer: MessageWriter): ComponentServerConnection {
    const peer = new RpcPeer(reader, writer, { name: this.name, logger: this.logger });
    const closed = new Promise<void>((resolve) => peer.onClose(() => resolve()));
    peer.onRequest(Initialize, (params) => this.initialize(params));
    peer.onNotification(Initialized, () => this.logger.debug('runtime initialized the connection'));
    peer.onRequest(ComponentsList, () => ({ components: this.listComponents() }));
    peer.onRequest(ComponentsInfo, (params) => ({ info: this.infoOf(params.component) }));
    peer.onRequest(ComponentsExecute, (params, ctx) => this.execute(peer, params, ctx));
    peer.listen();
    return { peer, closed, close: () => peer.close() };
  }

  /** Serves the runtime over this process's stdin/stdout; resolves when stdin ends. */
  async serveStdio(): Promise<void> {
    await serveOverStdio(this);
  }

  /** Listens for runtimes on a WebSocket endpoint (default 127.0.0.1, a free port); each connection is its own session. */
  async serveWebSocket(options: ServeWebSocketOptions = {}): Promise<WebSocketServing> {
    // Loaded on demand: a stdio server (most of them) starts without `ws`.
    const { serveOverWebSocket } = await import('./websocket.js');
    return serveOverWebSocket(this, options);
  }

  /**
   * Runs this server as a worker of a runtime's pool (docs/workers.md): dials `url`
   * (`ws://HOST:7837/workers`), registers, serves calls over that connection and reconnects when it drops.
   */
  async serveWorker(options: ServeWorkerOptions): Promise<WorkerServing> {
    const { serveAsWorker } = await import('./worker.js');
    return serveAsWorker(this, options);
  }

  /**
   * Runs this server as a script: `--port N` serves WebSocket and prints `{"port":N}` on stdout once
   * listening; `--connect URL` runs it as a worker (docs/workers.md); without either, serves stdio.
   * Pass `process.argv` (the default).
   */
  run(argv: readonly string[] = process.argv): Promise<void> {
    return runComponentServer(this, argv);
  }

  private initialize(params: ParamsOut<typeof Initialize>): ResultIn<typeof Initialize> {
    if (params.runtime_protocol_version !== PROTOCOL_VERSION) {
      throw new RpcError(
        ErrorCodes.NotInitialized,
        `Protocol version mismatch: the runtime speaks version ${params.runtime_protocol_version}, ` +
          `component server "${this.name}" speaks version ${PROTOCOL_VERSION}`,
        { runtime_protocol_version: params.runtime_protocol_version, server_protocol_version: PROTOCOL_VERSION },
      );
    }
    return { server_protocol_version: PROTOCOL_VERSION };
  }

  private lookup(name: string): Component {
    const component = this.components.get(normalizeComponentName(name));
    if (component === undefined) {
      throw new RpcError(ErrorCodes.ComponentNotFound, `Component "${name}" not found on server "${this.name}"`, {
        component: name,
        available: [...this.components.keys()],
      });
    }
    return component;
  }

  private infoOf(name: string): ComponentInfo {
    const component = this.lookup(name);
    return this.infos.find((info) => info.component === component.name)!;
  }

  /** Runs a handler; a handler that returns a plain value is answered without a promise (no async frame per call). */
  private execute(
    peer: RpcPeer,
    params: ParamsOut<typeof ComponentsExecute>,
    ctx: RequestContext,
  ): ResultIn<typeof ComponentsExecute> | Promise<ResultIn<typeof ComponentsExecute>> {
    const component = this.lookup(params.component);
    const input = parseComponentInput(component, params.input);
    const context = new ExecutionContext(peer, component.name, params.attempt, params.observability ?? {}, ctx, this.logger);
    let output: unknown;
    try {
      output = component.handler(input, context);
    } catch (error) {
      throw asExecutionError(error, component.name);
    }
    if (isThenable(output)) {
      return Promise.resolve(output).then(
        (value) => this.answer(component, value),
        (error: unknown) => {
          throw asExecutionError(error, component.name);
        },
      );
    }
    return this.answer(component, output);
  }

  /** The result of a finished handler: its output, checked against the component's schema. */
  private answer(component: Component, output: unknown): ResultIn<typeof ComponentsExecute> {
    if (this.validateOutput) output = checkComponentOutput(component, output);
    // `undefined` would vanish from the JSON; a component that returns nothing outputs null.
    return { output: output === undefined ? null : output };
  }
}

/** Creates a component server; call `serveStdio()` on it to run it as a stdio process. */
export function createComponentServer(options: ComponentServerOptions): ComponentServer {
  return new ComponentServer(options);
}

/** A handler's failure as a wire error: RpcErrors pass through, anything else is -32004. */
function asExecutionError(error: unknown, component: string): RpcError {
  if (error instanceof RpcError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError(ErrorCodes.ComponentExecutionFailed, `Component execution failed: ${message}`, { component });
}

function describeComponent(component: Component): ComponentInfo {
  const info: ComponentInfo = { component: component.name };
  if (component.description !== undefined) info.description = component.description;
  if (component.input !== undefined) info.input_schema = jsonSchemaOf(component.input, 'input');
  if (component.output !== undefined) info.output_schema = jsonSchemaOf(component.output, 'output');
  return info;
}

/** JSON Schema of a zod schema; parts that JSON Schema cannot express (transforms) become `{}`. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    // A schema zod cannot convert at all (e.g. an unsupported cycle) is published as "anything".
    return {};
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
