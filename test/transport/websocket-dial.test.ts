import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RpcPeer } from '../../src/rpc/peer.js';
import { closeWebSocket, wireWebSocket } from '../../src/transport/websocket-connection.js';
import { dialWebSocket, WebSocketDialError } from '../../src/transport/websocket-dial.js';
import { Add } from '../rpc/fixtures.js';

const servers: WebSocketServer[] = [];
const tcpServers: Server[] = [];
const sockets: WebSocket[] = [];
const heldTcp: Socket[] = [];
afterEach(async () => {
  for (const socket of heldTcp.splice(0)) socket.destroy();
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(tcpServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function wsServer(options: WebSocket.ServerOptions = {}): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  servers.push(wss);
  await once(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/` };
}

/** A TCP server that accepts connections and never answers: an upgrade that hangs. */
async function silentServer(): Promise<string> {
  const server = createServer((socket) => heldTcp.push(socket));
  tcpServers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function dialFailure(promise: Promise<WebSocket>): Promise<WebSocketDialError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebSocketDialError);
  return error as WebSocketDialError;
}

describe('dialWebSocket', () => {
  it('opens the socket with the given headers', async () => {
    const { wss, url } = await wsServer();
    const upgraded = once(wss, 'connection');
    const socket = await dialWebSocket(url, { connectTimeoutMs: 10_000, maxPayload: 1024, headers: { Authorization: 'Bearer t0k' } });
    sockets.push(socket);
    const [, request] = await upgraded;
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect(request.headers.authorization).toBe('Bearer t0k');
  });

  it('tells a refused connection, an HTTP refusal, a timeout, an abort and a bad URL apart', async () => {
    const gone = await wsServer();
    await new Promise((resolve) => gone.wss.close(resolve));
    const refused = await dialFailure(dialWebSocket(gone.url, { connectTimeoutMs: 10_000, maxPayload: 1024 }));
    expect(refused.failure).toMatchObject({ kind: 'network', error: { code: 'ECONNREFUSED' } });
    expect(refused.url).toBe(gone.url);

    const { url } = await wsServer({ path: '/only-here' });
    const http = await dialFailure(dialWebSocket(url, { connectTimeoutMs: 10_000, maxPayload: 1024 }));
    expect(http.failure).toMatchObject({ kind: 'http', status: 400 });

    const silent = await silentServer();
    const timeout = await dialFailure(dialWebSocket(silent, { connectTimeoutMs: 100, maxPayload: 1024 }));
    expect(timeout.failure).toEqual({ kind: 'timeout' });

    const controller = new AbortController();
    const dialling = dialWebSocket(silent, { connectTimeoutMs: 60_000, maxPayload: 1024, signal: controller.signal });
    controller.abort(new Error('stop'));
    const aborted = await dialFailure(dialling);
    expect(aborted.failure).toEqual({ kind: 'aborted' });
    expect((aborted.cause as Error).message).toBe('stop');

    const bad = await dialFailure(dialWebSocket('http://127.0.0.1:1/', { connectTimeoutMs: 100, maxPayload: 1024 }));
    expect(bad.failure).toMatchObject({ kind: 'invalid-url', reason: 'the scheme must be ws: or wss:, not http:' });
  });
});

describe('wireWebSocket', () => {
  it('carries JSON-RPC over the socket and reports its close to the owner before the peer closes', async () => {
    const { wss, url } = await wsServer({ perMessageDeflate: false });
    wss.on('connection', (socket) => {
      const { reader, writer } = wireWebSocket(socket);
      const server = new RpcPeer(reader, writer, { name: 'server' });
      server.onRequest(Add, ({ a, b }) => ({ sum: a + b }));
      server.listen();
    });
    const socket = await dialWebSocket(url, { connectTimeoutMs: 10_000, maxPayload: 1024 });
    sockets.push(socket);
    const events: string[] = [];
    let peer: RpcPeer | undefined;
    const connection = wireWebSocket(socket, { onClose: (code, reason) => events.push(`onClose ${code} ${reason} peer closed: ${peer!.isClosed}`) });
    peer = new RpcPeer(connection.reader, connection.writer, { name: 'client' });
    peer.onClose(() => events.push('peer closed'));
    peer.listen();
    await expect(peer.sendRequest(Add, { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });

    await closeWebSocket(socket, 4000, 'bye', 10_000);
    await expect(connection.closed).resolves.toEqual({ code: 4000, reason: 'bye' });
    expect(events).toEqual(['onClose 4000 bye peer closed: false', 'peer closed']);
  });

  it('reports a socket that closed before it was wired as closed (1006)', async () => {
    const { url } = await wsServer();
    const socket = await dialWebSocket(url, { connectTimeoutMs: 10_000, maxPayload: 1024 });
    socket.terminate();
    await once(socket, 'close');
    await expect(wireWebSocket(socket).closed).resolves.toEqual({ code: 1006, reason: '' });
  });
});
