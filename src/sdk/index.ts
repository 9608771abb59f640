/**
 * The flowrun component-server SDK (docs/sdk.md).
 *
 * ```ts
 * const greet = defineComponent({ name: '/greet', input: z.object({ name: z.string() }), handler: (i) => ({ message: `hi ${i.name}` }) });
 * await createComponentServer({ name: 'greeter', components: [greet] }).run(process.argv);
 * ```
 *
 * `run` serves stdio, or WebSocket with `--port N` (printing `{"port":N}` on stdout once listening),
 * or runs as a worker of a runtime's pool with `--connect ws://HOST:7837/workers` (docs/workers.md).
 *
 * A stdio server's stdout carries protocol messages only: log with `ctx.logger` (stderr), never
 * `console.log` (serveStdio redirects console output to stderr as a safety net).
 */
export { defineComponent, normalizeComponentName } from './define-component.js';
export type { Component, ComponentDefinition } from './define-component.js';
export type {
  ComponentContext,
  SubmitRunParams,
  GetRunParams,
  ListRunsParams,
  ListRunsResult,
} from './component-context.js';
export { ComponentServer, createComponentServer } from './component-server.js';
export type { ComponentServerOptions, ComponentServerConnection } from './component-server.js';
export type { ServeWebSocketOptions, WebSocketServing } from './websocket.js';
export type { ServeWorkerOptions, WorkerServing } from './worker.js';
export { parseServerCommandLine, runComponentServer } from './run.js';
export type { ServerCommandLine } from './run.js';
export { RpcError, ErrorCodes } from '../../protocol/index.js';
export { RunNotFoundError, BlobNotFoundError, FlowNotFoundError, RunLimitError } from '../client/client-errors.js';
export type { Observability, RunStatus, BlobType, ComponentInfo } from '../../protocol/index.js';
export { RunHandle, submitRun, type RuntimeCaller } from '../client/run-handle.js';
