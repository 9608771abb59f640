import { once } from 'node:events';
import type { MessageReader, MessageWriter } from 'vscode-jsonrpc';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  ComponentsExecute,
  ComponentsInfo,
  ComponentsList,
  ErrorCodes,
  Initialize,
  RpcError,
} from '../../protocol/index.js';
import { RequestCancelledError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import {
  createComponentServer,
  defineComponent,
  type Component,
  type ComponentContext,
  type ComponentServerConnection,
} from '../../src/sdk/index.js';
import { registerRuntimeHandlers } from '../../src/api/runtime-handlers.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';
import { WebSocketMessageReader } from '../../src/transport/websocket-reader.js';
import { WebSocketMessageWriter } from '../../src/transport/websocket-writer.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { rejectionOf } from '../support/errors.js';
import { cleanupAfterEach } from '../support/cleanups.js';

const greet = defineComponent({
  name: '/greet',
  description: 'Greets',
  input: z.object({ name: z.string() }),
  output: z.object({ message: z.string() }),
  handler: (input) => ({ message: `hi ${input.name}` }),
});

type ConnectOptions = { validateOutput?: boolean };
/** A component server and a runtime peer (with a fake runtime API) talking to it. */
type Connected = { runtime: RpcPeer; api: FakeRuntimeApi; connection: ComponentServerConnection };

/** The runtime's side: a peer serving the fake runtime API over a reader/writer pair. */
function runtimePeer(reader: MessageReader, writer: MessageWriter) {
  const runtime = new RpcPeer(reader, writer, { name: 'runtime' });
  const api = new FakeRuntimeApi();
  registerRuntimeHandlers(runtime, api, () => ({}));
  runtime.listen();
  cleanups.push(async () => runtime.close());
  return { runtime, api };
}

function newServer(components: Component<any, any>[], options: ConnectOptions) {
  return createComponentServer({ name: 'test-server', components, logger: silentLogger, ...options });
}

/** Over an in-memory pair. */
async function connectInMemory(components: Component<any, any>[], options: ConnectOptions = {}): Promise<Connected> {
  const [serverEnd, runtimeEnd] = createMemoryTransportPair();
  const connection = newServer(components, options).serve(serverEnd.reader, serverEnd.writer);
  return { ...runtimePeer(runtimeEnd.reader, runtimeEnd.writer), connection };
}

/** Over a real WebSocket on 127.0.0.1 (`serveWebSocket`), one connection. */
async function connectOverWebSocket(components: Component<any, any>[], options: ConnectOptions = {}): Promise<Connected> {
  const serving = await newServer(components, options).serveWebSocket();
  cleanups.push(() => serving.close());
  const socket = new WebSocket(serving.url, { perMessageDeflate: false });
  await once(socket, 'open');
  // The server emitted 'connection' before it sent the upgrade response the client just read.
  const [connection] = [...serving.connections];
  return { ...runtimePeer(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket)), connection: connection! };
}

const cleanups = cleanupAfterEach();

const rpcError = (promise: Promise<unknown>): Promise<RpcError> => rejectionOf(promise, RpcError);

describe.each([
  { transport: 'memory', connect: connectInMemory },
  { transport: 'WebSocket', connect: connectOverWebSocket },
])('over $transport', ({ connect }) => {
  describe('component server: initialize', () => {
    it('answers runtime protocol version 1 with server version 1', async () => {
      const { runtime } = await connect([greet]);
      await expect(runtime.sendRequest(Initialize, { runtime_protocol_version: 1 })).resolves.toEqual({ server_protocol_version: 1 });
    });

    it('refuses another runtime protocol version with -32002 naming both versions', async () => {
      const { runtime } = await connect([greet]);
      const error = await rpcError(runtime.sendRequest(Initialize, { runtime_protocol_version: 2 }));
      expect(error.code).toBe(ErrorCodes.NotInitialized);
      expect(error.message).toContain('version 2');
      expect(error.message).toContain('version 1');
    });
  });

  describe('component server: components/list and components/info', () => {
    it('lists every component with the JSON Schemas of its input and output', async () => {
      const shout = defineComponent({ name: 'shout', input: z.object({ text: z.string() }), handler: (i) => i.text.toUpperCase() });
      const { runtime } = await connect([greet, shout]);
      const { components } = await runtime.sendRequest(ComponentsList, {});
      expect(components.map((c) => c.component)).toEqual(['/greet', '/shout']);
      const [greetInfo] = components;
      expect(greetInfo!.description).toBe('Greets');
      expect(greetInfo!.input_schema).toMatchObject({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] });
      expect(greetInfo!.output_schema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } });
      expect(components[1]!.output_schema).toBeUndefined();
    });

    it('describes one component and answers -32001 naming an unknown one', async () => {
      const { runtime } = await connect([greet]);
      await expect(runtime.sendRequest(ComponentsInfo, { component: 'greet' })).resolves.toMatchObject({ info: { component: '/greet' } });
      const error = await rpcError(runtime.sendRequest(ComponentsInfo, { component: '/missing' }));
      expect(error.code).toBe(ErrorCodes.ComponentNotFound);
      expect(error.message).toContain('/missing');
    });

    it('refuses two components with the same name, with or without the slash', () => {
      const again = defineComponent({ name: 'greet', handler: () => null });
      expect(() => createComponentServer({ name: 's', components: [greet, again], logger: silentLogger })).toThrow(/"\/greet" is defined twice/);
    });
  });

  describe('component server: components/execute', () => {
    it('runs the handler on the parsed input and returns its output', async () => {
      const { runtime } = await connect([greet]);
      await expect(runtime.sendRequest(ComponentsExecute, { component: '/greet', input: { name: 'Ann' }, attempt: 1 })).resolves.toEqual({
        output: { message: 'hi Ann' },
      });
    });

    it('finds a component named without its leading slash', async () => {
      const { runtime } = await connect([greet]);
      const result = await runtime.sendRequest(ComponentsExecute, { component: 'greet', input: { name: 'Bo' } });
      expect(result.output).toEqual({ message: 'hi Bo' });
    });

    it('answers -32602 naming the field when the input does not match the schema', async () => {
      const { runtime } = await connect([greet]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/greet', input: { name: 42 }, attempt: 1 }));
      expect(error.code).toBe(ErrorCodes.InvalidParams);
      expect(error.message).toContain('input.name: expected string');
      expect(error.data).toMatchObject({ component: '/greet', issues: [{ field: 'input.name' }] });
    });

    it('answers -32001 naming an unknown component', async () => {
      const { runtime } = await connect([greet]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/nope', input: {}, attempt: 1 }));
      expect(error.code).toBe(ErrorCodes.ComponentNotFound);
      expect(error.message).toContain('/nope');
      expect(error.data).toMatchObject({ component: '/nope' });
    });

    it('answers -32004 with the message when the handler throws an Error', async () => {
      const boom = defineComponent({
        name: '/boom',
        handler: async () => {
          throw new Error('disk on fire');
        },
      });
      const { runtime } = await connect([boom]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/boom', input: null, attempt: 1 }));
      expect(error.code).toBe(ErrorCodes.ComponentExecutionFailed);
      expect(error.message).toBe('Component execution failed: disk on fire');
      expect(error.data).toEqual({ component: '/boom' });
    });

    it('passes an RpcError thrown by the handler through unchanged', async () => {
      const picky = defineComponent({
        name: '/picky',
        handler: () => {
          throw new RpcError(-32012, 'value out of range', { field: 'x' });
        },
      });
      const { runtime } = await connect([picky]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/picky', input: null, attempt: 1 }));
      expect(error.toObject()).toEqual({ code: -32012, message: 'value out of range', data: { field: 'x' } });
    });

    it('fails with -32004 naming the field when the output does not match the output schema', async () => {
      const liar = defineComponent({
        name: '/liar',
        output: z.object({ message: z.string() }),
        handler: () => ({ message: 7 }) as unknown as { message: string },
      });
      const { runtime } = await connect([liar]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/liar', input: null, attempt: 1 }));
      expect(error.code).toBe(ErrorCodes.ComponentExecutionFailed);
      expect(error.message).toContain('output.message');
    });

    it('returns the output unchecked when validateOutput is off', async () => {
      const liar = defineComponent({
        name: '/liar',
        output: z.object({ message: z.string() }),
        handler: () => ({ message: 7 }) as unknown as { message: string },
      });
      const { runtime } = await connect([liar], { validateOutput: false });
      await expect(runtime.sendRequest(ComponentsExecute, { component: '/liar', input: null, attempt: 1 })).resolves.toEqual({
        output: { message: 7 },
      });
    });

    it('outputs null for a handler that returns nothing', async () => {
      const quiet = defineComponent({ name: '/quiet', handler: () => undefined });
      const { runtime } = await connect([quiet]);
      await expect(runtime.sendRequest(ComponentsExecute, { component: '/quiet', input: 1, attempt: 1 })).resolves.toEqual({ output: null });
    });

    it('gives the handler the attempt and observability of the call', async () => {
      let seen: ComponentContext | undefined;
      const probe = defineComponent({
        name: '/probe',
        handler: (_input, ctx) => {
          seen = ctx;
          return null;
        },
      });
      const { runtime } = await connect([probe]);
      const observability = { run_id: 'r1', step_id: 's1', flow_id: 'f1' };
      await runtime.sendRequest(ComponentsExecute, { component: '/probe', input: null, attempt: 3, observability });
      expect(seen!.attempt).toBe(3);
      expect(seen!.component).toBe('/probe');
      expect(seen!.observability).toEqual(observability);
    });

    it('aborts ctx.signal when the runtime sends $/cancelRequest', async () => {
      let started!: () => void;
      const handlerStarted = new Promise<void>((resolve) => (started = resolve));
      let aborted!: (reason: unknown) => void;
      const handlerAborted = new Promise<unknown>((resolve) => (aborted = resolve));
      const waiter = defineComponent({
        name: '/wait',
        handler: (_input, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted(ctx.signal.reason);
              reject(new Error('stopped'));
            });
            started();
          }),
      });
      const { runtime } = await connect([waiter]);
      const controller = new AbortController();
      const call = runtime.sendRequest(ComponentsExecute, { component: '/wait', input: null, attempt: 1 }, { signal: controller.signal });
      await handlerStarted;
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
      await expect(handlerAborted).resolves.toBeInstanceOf(RequestCancelledError);
    });
  });

  describe('component server: calls back into the runtime', () => {
    it('stores and loads blobs through ctx.putBlob and ctx.getBlob', async () => {
      const roundTrip = defineComponent({
        name: '/round_trip',
        handler: async (input, ctx) => {
          const id = await ctx.putBlob(input);
          return { id, loaded: await ctx.getBlob(id) };
        },
      });
      const { runtime, api } = await connect([roundTrip]);
      const data = { b: [1, 2, { c: null }], a: 'x' };
      const { output } = await runtime.sendRequest(ComponentsExecute, { component: '/round_trip', input: data, attempt: 1 });
      const { id, loaded } = output as { id: string; loaded: unknown };
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(loaded).toEqual(data);
      await expect(api.blobs.get(id)).resolves.toEqual({ data, blobType: 'data' });
      expect(api.callsOf('blobs/put')[0]!.params).toEqual({ data, blob_type: 'data' });
    });

    it('surfaces a missing blob as the runtime error -32008', async () => {
      const loader = defineComponent({ name: '/load', handler: (_input, ctx) => ctx.getBlob(`sha256:${'a'.repeat(64)}`) });
      const { runtime } = await connect([loader]);
      const error = await rpcError(runtime.sendRequest(ComponentsExecute, { component: '/load', input: null, attempt: 1 }));
      expect(error.code).toBe(ErrorCodes.BlobNotFound);
    });

    it('submits child runs with the observability of the execute call so the runtime can link them', async () => {
      const submitter = defineComponent({
        name: '/submit',
        handler: async (_input, ctx) => {
          const status = await ctx.submitRun({ flowId: `sha256:${'1'.repeat(64)}`, inputs: [1, 2] });
          const again = await ctx.getRun({ runId: status.runId });
          const cancelled = await ctx.cancelRun(status.runId);
          const list = await ctx.listRuns({ limit: 5 });
          return { runId: again.runId, cancelled: cancelled.status, listed: list.runs.length };
        },
      });
      const { runtime, api } = await connect([submitter]);
      const observability = { run_id: 'parent-run', step_id: 'fan_out', flow_id: 'sha256:f', trace_id: 'a'.repeat(32) };
      const { output } = await runtime.sendRequest(ComponentsExecute, { component: '/submit', input: null, attempt: 1, observability });
      expect(output).toEqual({ runId: 'run-1', cancelled: 'cancelled', listed: 1 });
      expect(api.callsOf('runs/submit')[0]!.params).toMatchObject({ inputs: [1, 2], observability });
      expect(api.calls.map((c) => c.method)).toEqual(['runs/submit', 'runs/get', 'runs/cancel', 'runs/list']);
    });
  });

  describe('component server: connection', () => {
    it('resolves closed when the runtime hangs up', async () => {
      const { runtime, connection } = await connect([greet]);
      runtime.close();
      await expect(connection.closed).resolves.toBeUndefined();
    });
  });
});
