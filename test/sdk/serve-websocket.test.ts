import { once } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ComponentsExecute, Initialize } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { createComponentServer, defineComponent, parseServerCommandLine, type ServeWebSocketOptions } from '../../src/sdk/index.js';
import { registerRuntimeHandlers } from '../../src/api/runtime-handlers.js';
import { WebSocketMessageReader } from '../../src/transport/websocket-reader.js';
import { WebSocketMessageWriter } from '../../src/transport/websocket-writer.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { killWebSocketServerProcesses, startWebSocketServerProcess } from '../support/component-server.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { requireBuilt } from '../support/paths.js';
import { cleanupAfterEach } from '../support/cleanups.js';

const TEST_SERVER = 'test/fixtures/stepflow-test-server.mjs';

beforeAll(() => {
  requireBuilt('dist/src/sdk/index.js');
});

const cleanups = cleanupAfterEach(killWebSocketServerProcesses);

/** `/wait` handlers by tag: when each started, and the reason it was aborted. */
const waiting = new Map<string, { started: Deferred<void>; aborted: Deferred<unknown> }>();
function waitEntry(tag: string) {
  let entry = waiting.get(tag);
  if (entry === undefined) {
    entry = { started: deferred<void>(), aborted: deferred<unknown>() };
    waiting.set(tag, entry);
  }
  return entry;
}

const components = [
  defineComponent({ name: '/echo', handler: (input) => input }),
  defineComponent({ name: '/store', handler: async (input, ctx) => ctx.putBlob(input) }),
  defineComponent({
    name: '/wait',
    handler: (tag, ctx) =>
      new Promise((_resolve, reject) => {
        const entry = waitEntry(String(tag));
        ctx.signal.addEventListener('abort', () => {
          entry.aborted.resolve(ctx.signal.reason);
          reject(new Error('aborted'));
        });
        entry.started.resolve();
      }),
  }),
];

async function serve(options: ServeWebSocketOptions = {}) {
  const serving = await createComponentServer({ name: 'ws-test', components, logger: silentLogger }).serveWebSocket(options);
  cleanups.push(() => serving.close());
  return serving;
}

/** A raw client socket; closed after the test. */
async function dial(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false, ...options });
  cleanups.push(() => socket.terminate());
  await once(socket, 'open');
  return socket;
}

/** A runtime peer with its own fake runtime API, over a fresh connection. */
async function runtime(url: string) {
  const socket = await dial(url);
  const peer = new RpcPeer(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket), { name: 'server' });
  const api = new FakeRuntimeApi();
  registerRuntimeHandlers(peer, api, () => ({}));
  peer.listen();
  await peer.sendRequest(Initialize, { runtime_protocol_version: 1 });
  return { peer, api, socket };
}

describe('ComponentServer.serveWebSocket', () => {
  it('listens on 127.0.0.1 on a free port by default and reports its URL', async () => {
    const serving = await serve();
    expect(serving.port).toBeGreaterThan(0);
    expect(serving.url).toBe(`ws://127.0.0.1:${serving.port}/`);
  });

  it('serves every connection as its own session: callbacks go back on the connection that called', async () => {
    const serving = await serve();
    const a = await runtime(serving.url);
    const b = await runtime(serving.url);
    expect(serving.connections.size).toBe(2);
    const [fromA, fromB] = await Promise.all([
      a.peer.sendRequest(ComponentsExecute, { component: '/store', input: 'from a', attempt: 1 }),
      b.peer.sendRequest(ComponentsExecute, { component: '/store', input: 'from b', attempt: 1 }),
    ]);
    expect(a.api.callsOf('blobs/put').map((c) => c.params)).toEqual([{ data: 'from a', blob_type: 'data' }]);
    expect(b.api.callsOf('blobs/put').map((c) => c.params)).toEqual([{ data: 'from b', blob_type: 'data' }]);
    expect(fromA.output).not.toEqual(fromB.output);
  });

  it('aborts the handlers of a connection that closes, and only those', async () => {
    const serving = await serve();
    const a = await runtime(serving.url);
    const b = await runtime(serving.url);
    const onA = a.peer.sendRequest(ComponentsExecute, { component: '/wait', input: 'on-a', attempt: 1 }).catch(() => undefined);
    await waitEntry('on-a').started.promise;
    a.socket.close();
    await waitEntry('on-a').aborted.promise;
    await onA;
    await expect(b.peer.sendRequest(ComponentsExecute, { component: '/echo', input: 'still here', attempt: 1 })).resolves.toEqual({
      output: 'still here',
    });
    expect(serving.connections.size).toBe(1);
  });

  it('disconnects a runtime that stops answering pings', async () => {
    const serving = await serve({ pingIntervalMs: 20 });
    const socket = await dial(serving.url, { autoPong: false });
    const [code] = await once(socket, 'close');
    expect(code).toBe(1006);
  });

  it('keeps a runtime that answers pings', async () => {
    // Long enough for a loaded machine to answer within an interval.
    const serving = await serve({ pingIntervalMs: 150 });
    const { socket } = await runtime(serving.url);
    let closed = false;
    socket.once('close', () => (closed = true));
    for (let i = 0; i < 3 && !closed; i++) await Promise.race([once(socket, 'ping'), once(socket, 'close')]);
    expect(closed).toBe(false);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses a frame over maxMessageBytes by closing that connection with 1009, and keeps serving others', async () => {
    const serving = await serve({ maxMessageBytes: 1024 });
    const big = await dial(serving.url);
    big.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'components/execute', params: { component: '/echo', input: 'x'.repeat(2048) } }));
    const [code] = await once(big, 'close');
    expect(code).toBe(1009);
    const { peer } = await runtime(serving.url);
    await expect(peer.sendRequest(ComponentsExecute, { component: '/echo', input: 'ok', attempt: 1 })).resolves.toEqual({ output: 'ok' });
  });

  it('skips text frames that are not JSON and binary frames, and answers the next request', async () => {
    const serving = await serve();
    const socket = await dial(serving.url);
    socket.send('definitely not json');
    socket.send(Buffer.from([9, 9, 9]), { binary: true });
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'components/execute', params: { component: '/echo', input: 5 } }));
    const [frame] = await once(socket, 'message');
    expect(JSON.parse(String(frame))).toEqual({ jsonrpc: '2.0', id: 7, result: { output: 5 } });
  });

  it('accepts upgrades on its path only', async () => {
    const serving = await serve({ path: '/components' });
    expect(serving.url).toMatch(/\/components$/);
    await runtime(serving.url);
    const elsewhere = new WebSocket(serving.url.replace('/components', '/other'));
    const [error] = (await once(elsewhere, 'error')) as [Error];
    expect(error.message).toContain('400');
  });

  it('closes every connection with 1001 and stops listening on close()', async () => {
    const serving = await serve();
    const socket = await dial(serving.url);
    const closed = once(socket, 'close');
    await serving.close();
    expect((await closed)[0]).toBe(1001);
    const late = new WebSocket(serving.url);
    const [error] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('ComponentServer.run', () => {
  it('with --port serves WebSocket and prints exactly one line, {"port":N}, on stdout', async () => {
    const server = await startWebSocketServerProcess(TEST_SERVER);
    expect(server.stdoutLines).toEqual([JSON.stringify({ port: server.port })]);
    const { peer } = await runtime(server.url);
    // A component writing to console.log must not add anything to stdout.
    await expect(peer.sendRequest(ComponentsExecute, { component: '/console_log', input: 'hi', attempt: 1 })).resolves.toEqual({
      output: 'logged',
    });
    server.child.kill('SIGTERM');
    await expect(server.exited).resolves.toEqual({ code: 0, signal: null });
    expect(server.stdoutLines).toHaveLength(1);
    expect(server.stderr()).toContain('console.log from a component: hi');
  });

  it('reads --port, --host and --path in either form, and leaves other arguments alone', () => {
    expect(parseServerCommandLine(['node', 'server.js'])).toEqual({});
    expect(parseServerCommandLine(['node', 'server.js', '--port', '0'])).toEqual({ port: 0 });
    expect(parseServerCommandLine(['--verbose', '--port=9000', '--host', '0.0.0.0', '--path=/c'])).toEqual({
      port: 9000,
      host: '0.0.0.0',
      path: '/c',
    });
  });

  it('refuses a port that is not an integer from 0 to 65535, or a missing value', () => {
    expect(() => parseServerCommandLine(['--port', 'abc'])).toThrow('--port must be an integer from 0 to 65535, got "abc"');
    expect(() => parseServerCommandLine(['--port', '70000'])).toThrow(/got "70000"/);
    expect(() => parseServerCommandLine(['--port'])).toThrow('--port needs a value');
  });
});
