import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RpcPeer } from '../../src/rpc/peer.js';
import { startKeepAlive } from '../../src/transport/keep-alive.js';
import { WebSocketMessageReader } from '../../src/transport/websocket-reader.js';
import { WebSocketMessageWriter } from '../../src/transport/websocket-writer.js';
import { Add } from '../rpc/fixtures.js';
import { captureLogger, LEVEL } from './capture-logger.js';

const servers: WebSocketServer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server on 127.0.0.1:0 and a client connected to it; resolves with both open sockets. */
async function connectedPair(serverOptions: WebSocket.ServerOptions = {}, clientOptions: WebSocket.ClientOptions = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, ...serverOptions });
  servers.push(wss);
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, ...clientOptions });
  sockets.push(client);
  await once(client, 'open');
  const [server] = await accepted;
  sockets.push(server);
  return { client, server };
}

describe('WebSocketMessageReader / WebSocketMessageWriter', () => {
  it('carries JSON-RPC requests and responses both ways, one message per text frame', async () => {
    const { client, server } = await connectedPair();
    const frames: string[] = [];
    server.on('message', (data) => frames.push(data.toString()));
    const a = new RpcPeer(new WebSocketMessageReader(client), new WebSocketMessageWriter(client), { name: 'server' });
    const b = new RpcPeer(new WebSocketMessageReader(server), new WebSocketMessageWriter(server), { name: 'client' });
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    a.onRequest(Add, ({ a: x, b: y }) => ({ sum: x * y }));
    a.listen();
    b.listen();
    const sums = await Promise.all([1, 2, 3].map((n) => a.sendRequest(Add, { a: n, b: 10 })));
    expect(sums).toEqual([{ sum: 11 }, { sum: 12 }, { sum: 13 }]);
    await expect(b.sendRequest(Add, { a: 3, b: 4 })).resolves.toEqual({ sum: 12 });
    // Three requests and one response to b's request reached the server side, each its own frame.
    expect(frames.map((f) => JSON.parse(f).method ?? 'response')).toEqual(['test/add', 'test/add', 'test/add', 'response']);
  });

  it('skips text frames that are not JSON and binary frames, logging them, and delivers the next message', async () => {
    const { client, server } = await connectedPair();
    const { logger, records } = captureLogger();
    const peer = new RpcPeer(new WebSocketMessageReader(client, { logger, name: 'tools' }), new WebSocketMessageWriter(client), { name: 'tools' });
    peer.listen();
    server.on('message', (data) => {
      const request = JSON.parse(data.toString());
      server.send('this is not json');
      server.send(Buffer.from([1, 2, 3]), { binary: true });
      server.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { sum: 42 } }));
    });
    await expect(peer.sendRequest(Add, { a: 1, b: 2 })).resolves.toEqual({ sum: 42 });
    const warnings = records.filter((r) => r.level === LEVEL.warn).map((r) => r.msg);
    expect(warnings).toEqual(['tools: skipped a frame that is not JSON', 'tools: skipped a binary frame']);
    expect(records.find((r) => r.frame === 'this is not json')).toBeDefined();
  });

  it('keeps frames that arrive before listen() and delivers them in order', async () => {
    const { client, server } = await connectedPair();
    const reader = new WebSocketMessageReader(client);
    let arrived = 0;
    client.on('message', () => arrived++);
    server.send(JSON.stringify({ jsonrpc: '2.0', method: 'a' }));
    server.send(JSON.stringify({ jsonrpc: '2.0', method: 'b' }));
    while (arrived < 2) await once(client, 'message');
    const methods: string[] = [];
    reader.listen((m) => methods.push((m as unknown as { method: string }).method));
    expect(methods).toEqual(['a', 'b']);
  });

  it('fails pending requests when the other side closes the socket', async () => {
    const { client, server } = await connectedPair();
    const peer = new RpcPeer(new WebSocketMessageReader(client), new WebSocketMessageWriter(client), { name: 'server' });
    peer.listen();
    const closed = new Promise<void>((resolve) => peer.onClose(() => resolve()));
    server.once('message', () => server.close(1001));
    await expect(peer.sendRequest(Add, { a: 1, b: 2 })).rejects.toThrow(/connection to server closed/);
    await closed;
    expect(peer.isClosed).toBe(true);
  });

  it('fires close when listen() comes after the socket already closed', async () => {
    const { client, server } = await connectedPair();
    const reader = new WebSocketMessageReader(client);
    server.terminate();
    await once(client, 'close');
    let closed = false;
    reader.onClose(() => {
      closed = true;
    });
    reader.listen(() => undefined);
    expect(closed).toBe(true);
  });

  it('closes the socket normally when the writer ends', async () => {
    const { client, server } = await connectedPair();
    const writer = new WebSocketMessageWriter(client);
    const writerClosed = new Promise<void>((resolve) => writer.onClose(() => resolve()));
    const serverClosed = once(server, 'close');
    void writer.write({ jsonrpc: '2.0', method: 'last' } as never);
    const lastFrame = once(server, 'message');
    writer.end();
    expect(JSON.parse(String((await lastFrame)[0]))).toEqual({ jsonrpc: '2.0', method: 'last' });
    const [code] = await serverClosed;
    expect(code).toBe(1000);
    await writerClosed;
  });

  it('sends what was written while the socket was connecting once it opens', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(wss);
    await once(wss, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    sockets.push(client);
    const writer = new WebSocketMessageWriter(client);
    void writer.write({ jsonrpc: '2.0', method: 'early' } as never);
    const [server] = (await once(wss, 'connection')) as [WebSocket];
    sockets.push(server);
    const [frame] = await once(server, 'message');
    expect(JSON.parse(String(frame))).toEqual({ jsonrpc: '2.0', method: 'early' });
  });

  it('reports a message that cannot be serialised through onError without closing the socket', async () => {
    const { client } = await connectedPair();
    const writer = new WebSocketMessageWriter(client);
    const errors: unknown[] = [];
    writer.onError(([error]) => errors.push(error));
    await expect(writer.write({ jsonrpc: '2.0', method: 'x', params: { n: 1n } } as never)).rejects.toThrow(/BigInt/);
    expect(errors).toHaveLength(1);
    expect(client.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses a frame over the maximum payload by closing the connection with 1009', async () => {
    const { client, server } = await connectedPair({ maxPayload: 1024 });
    const reader = new WebSocketMessageReader(server);
    const errors: Error[] = [];
    reader.onError((error) => errors.push(error));
    reader.listen(() => undefined);
    const closed = once(client, 'close');
    client.send(JSON.stringify({ jsonrpc: '2.0', method: 'big', params: { text: 'x'.repeat(2048) } }));
    const [code] = await closed;
    expect(code).toBe(1009);
    expect(errors[0]?.message).toMatch(/max payload size exceeded/i);
  });
});

/**
 * Interval for tests where the peer does answer: long enough that a loaded machine answers a
 * ping within it (a silent peer is tested with a short one, where no answer is the point).
 */
const ANSWERED_INTERVAL_MS = 150;

/** The socket's next ping, or its close: a test waiting for pings must not hang when the socket is dropped. */
async function nextPingOrClose(socket: WebSocket): Promise<'ping' | 'close'> {
  if (socket.readyState !== WebSocket.OPEN) return 'close';
  const controller = new AbortController();
  try {
    return await Promise.race([
      once(socket, 'ping', { signal: controller.signal }).then(() => 'ping' as const),
      once(socket, 'close', { signal: controller.signal }).then(() => 'close' as const),
    ]);
  } finally {
    controller.abort();
  }
}

describe('startKeepAlive', () => {
  it('keeps a socket whose peer answers pings', async () => {
    const { client, server } = await connectedPair();
    const stop = startKeepAlive(server, { intervalMs: ANSWERED_INTERVAL_MS });
    // Three pings answered by the client's automatic pongs.
    for (let i = 0; i < 3; i++) expect(await nextPingOrClose(client)).toBe('ping');
    expect(server.readyState).toBe(WebSocket.OPEN);
    stop();
  });

  it('terminates a socket whose peer stops answering pings', async () => {
    const { client, server } = await connectedPair({}, { autoPong: false });
    let dead = 0;
    startKeepAlive(server, { intervalMs: 20, onDead: () => dead++ });
    const [code] = await once(server, 'close');
    // Terminated, not closed by a handshake: the abnormal closure code.
    expect(code).toBe(1006);
    expect(dead).toBe(1);
    client.terminate();
  });

  it('counts incoming messages as signs of life', async () => {
    const { client, server } = await connectedPair({}, { autoPong: false });
    startKeepAlive(server, { intervalMs: ANSWERED_INTERVAL_MS });
    // The client never pongs but answers every ping with a message: it stays connected.
    client.on('ping', () => client.send('{}'));
    for (let i = 0; i < 3; i++) expect(await nextPingOrClose(client)).toBe('ping');
    expect(server.readyState).toBe(WebSocket.OPEN);
  });

  it('rejects a non-positive interval', async () => {
    const { server } = await connectedPair();
    expect(() => startKeepAlive(server, { intervalMs: 0 })).toThrow(/pingIntervalMs/);
  });
});
