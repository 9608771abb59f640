import { randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCodes, RpcError } from '../../protocol/index.js';
import { connect, ConnectError, type FlowrunClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ConnectionClosedError } from '../../src/errors.js';
import { Runtime } from '../../src/runtime.js';
import { packageVersion } from '../../src/serve/package-version.js';
import { startRuntimeServer, UnsafeBindError, type RuntimeServer, type RuntimeServerOptions } from '../../src/serve/ws-server.js';
import { startGate } from '../support/gate.js';
import { createWorkspace, ECHO_FLOW, GATE_FLOW, type Workspace } from '../support/workspace.js';
import { cleanupAfterEach } from '../support/cleanups.js';

let ws: Workspace;

beforeAll(async () => {
  ws = await createWorkspace();
});
const cleanups = cleanupAfterEach();
afterAll(async () => {
  await ws.remove();
});

/** A fresh runtime from the workspace config, served in-process on 127.0.0.1:0. */
async function serve(options: Omit<RuntimeServerOptions, 'runtime'> = {}): Promise<{ runtime: Runtime; server: RuntimeServer }> {
  const runtime = await Runtime.create({ config: await loadConfig({ configPath: ws.config }) });
  cleanups.push(() => runtime.close());
  const server = await startRuntimeServer({ runtime, port: 0, ...options });
  cleanups.push(() => server.close());
  return { runtime, server };
}

async function client(url: string, token?: string): Promise<FlowrunClient> {
  const c = await connect(url, { token });
  cleanups.push(() => c.close());
  return c;
}

async function gate() {
  const g = await startGate();
  cleanups.push(() => g.close());
  return g;
}

/** A raw `ws` socket, for frames the client library would never send. Resolves once open. */
function rawSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, options);
  cleanups.push(() => socket.terminate());
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one text frame and resolves with the next message the server sends back. */
function exchange(socket: WebSocket, frame: string | Buffer, binary = false): Promise<any> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(JSON.parse(data.toString())));
    socket.send(frame, { binary });
  });
}

function closeOf(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

describe('flowrun runtime server: HTTP', () => {
  it('answers GET /health with status, version, uptime and this node\'s membership', async () => {
    const { server, runtime } = await serve();
    const res = await fetch(server.url.replace('ws:', 'http:') + 'health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: string };
    expect(body).toEqual({
      status: 'ok',
      version: packageVersion(),
      uptimeMs: expect.any(Number),
      nodeId: runtime.nodes.nodeId,
      membership: { state: 'single', lastHeartbeatAt: expect.any(String) },
    });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('answers 404 on other paths, for plain requests and WebSocket upgrades alike', async () => {
    const { server } = await serve();
    expect((await fetch(server.url.replace('ws:', 'http:') + 'nope')).status).toBe(404);
    const refused = await connect(server.url + 'nope').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).status).toBe(404);
  });

  it('refuses to bind a non-loopback address without a token', async () => {
    const runtime = { service: {} as Runtime['service'] };
    await expect(startRuntimeServer({ runtime, host: '0.0.0.0', port: 0 })).rejects.toBeInstanceOf(UnsafeBindError);
    await expect(startRuntimeServer({ runtime, host: '::', port: 0 })).rejects.toThrow(/without a token/);
  });
});

describe('flowrun runtime server: methods', () => {
  it('serves blobs/put and blobs/get, and names a missing blob', async () => {
    const { server } = await serve();
    const c = await client(server.url);
    const id = await c.putBlob({ b: 2, a: 1 });
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await c.putBlob({ a: 1, b: 2 })).toBe(id);
    expect(await c.getBlob(id)).toEqual({ data: { a: 1, b: 2 }, blobType: 'data' });
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(c.getBlob(missing)).rejects.toMatchObject({ code: ErrorCodes.BlobNotFound, data: { blob_id: missing } });
  });

  it('refuses an invalid flow blob with -32602 and its diagnostics', async () => {
    const { server } = await serve();
    const c = await client(server.url);
    const err = await c.putBlob({ steps: [{ id: 'a', component: 'no-slash' }] }, 'flow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(ErrorCodes.InvalidParams);
  });

  it('runs a stored flow by id and returns results in input order', async () => {
    const { server } = await serve();
    const c = await client(server.url);
    const flowId = await c.putBlob(ECHO_FLOW, 'flow');
    const run = await c.submit({ flowId, inputs: [{ n: 0 }, { n: 1 }, { n: 2 }] });
    expect(run.submitted?.flowId).toBe(flowId);
    expect(await run.result()).toEqual([0, 1, 2].map((n) => ({ outcome: 'success', value: { n } })));
    const listed = await c.list();
    expect(listed.runs.map((r) => r.runId)).toEqual([run.runId]);
  });

  it('answers garbage frames, non-object JSON, batches and unknown methods with JSON-RPC errors and keeps serving', async () => {
    const { server } = await serve();
    const socket = await rawSocket(server.url);
    expect(await exchange(socket, 'this is not json')).toMatchObject({ id: null, error: { code: ErrorCodes.ParseError } });
    expect(await exchange(socket, Buffer.from('{}'), true)).toMatchObject({ id: null, error: { code: ErrorCodes.ParseError } });
    expect(await exchange(socket, '42')).toMatchObject({ id: null, error: { code: ErrorCodes.InvalidRequest } });
    expect(await exchange(socket, '[{"jsonrpc":"2.0","id":1,"method":"runs/list"}]')).toMatchObject({
      id: null,
      error: { code: ErrorCodes.InvalidRequest, message: expect.stringMatching(/batch/) },
    });
    expect(await exchange(socket, '{"jsonrpc":"2.0","id":7,"method":"no/such"}')).toMatchObject({ id: 7, error: { code: ErrorCodes.MethodNotFound } });
    expect(await exchange(socket, '{"jsonrpc":"2.0","id":8,"method":"components/execute","params":{}}')).toMatchObject({
      id: 8,
      error: { code: ErrorCodes.MethodNotFound },
    });
    const badParams = await exchange(socket, '{"jsonrpc":"2.0","id":9,"method":"runs/get","params":{}}');
    expect(badParams).toMatchObject({ id: 9, error: { code: ErrorCodes.InvalidParams } });
    expect(badParams.error.message).toContain('runId');
    expect(await exchange(socket, '{"jsonrpc":"2.0","id":"last","method":"runs/list"}')).toEqual({ jsonrpc: '2.0', id: 'last', result: { runs: [] } });
  });
});

describe('flowrun runtime server: limits', () => {
  it('closes only the connection that sent an oversized frame (1009); a run on another connection finishes', async () => {
    const { server } = await serve({ maxMessageBytes: 64 * 1024 });
    const g = await gate();
    const owner = await client(server.url);
    const run = await owner.submit({ flow: GATE_FLOW, inputs: [0, 1, 2].map((item) => ({ url: g.url, item })) });
    await g.arrived(3);

    const offender = await client(server.url);
    const closed = new Promise<Error | undefined>((resolve) => offender.onClose(resolve));
    const put = await offender.putBlob({ big: 'x'.repeat(100 * 1024) }).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(ConnectionClosedError);
    expect((await closed)?.message).toMatch(/code 1009/);

    expect(owner.isClosed).toBe(false);
    g.release();
    const done = await run.wait();
    expect(done.status).toBe('success');
    expect(done.items).toEqual({ total: 3, pending: 0, running: 0, success: 3, failed: 0, cancelled: 0 });
    const again = await client(server.url);
    expect((await again.list()).runs).toHaveLength(1);
  });

  it('answers -32005 beyond maxInFlight and serves again once requests finish', async () => {
    const { server } = await serve({ maxInFlight: 2 });
    const g = await gate();
    const c = await client(server.url);
    const run = await c.submit({ flow: GATE_FLOW, inputs: [{ url: g.url, item: 0 }] });
    await g.arrived(1);
    const waits = [run.wait(), run.wait()];
    const refused = await run.status().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect(refused).toMatchObject({ code: ErrorCodes.ResourceUnavailable, message: expect.stringMatching(/too many requests in flight/i) });
    g.release();
    for (const status of await Promise.all(waits)) expect(status.status).toBe('success');
    expect((await run.status()).status).toBe('success');
  });

  it('drops a client that stops answering pings', async () => {
    const { server } = await serve({ pingIntervalMs: 50 });
    const socket = await rawSocket(server.url, { autoPong: false });
    // 1006: the server cut the TCP connection without a close handshake (terminate).
    expect(await closeOf(socket)).toBe(1006);
  });
});

describe('flowrun runtime server: bearer token', () => {
  const token = randomBytes(16).toString('hex');

  it('refuses an upgrade without a token with 401, runs nothing it was sent, and names the URL', async () => {
    const { server } = await serve({ token });
    const refused = await connect(server.url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect(refused).toMatchObject({ status: 401, message: expect.stringContaining(server.url) });

    // A submit pipelined right behind the upgrade request must never be read.
    const response = await pipelinedSubmit(server.url, undefined);
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    const authorized = await client(server.url, token);
    expect((await authorized.list()).runs).toEqual([]);
  });

  it('refuses a wrong token with 401 and accepts the right one', async () => {
    const { server } = await serve({ token });
    await expect(connect(server.url, { token: token + 'x' })).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.url, { token: token.slice(0, -1) })).rejects.toMatchObject({ status: 401 });
    expect((await pipelinedSubmit(server.url, 'wrong')).split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    const c = await client(server.url, token);
    const run = await c.submit({ flow: ECHO_FLOW, inputs: [1] });
    expect(await run.result()).toEqual([{ outcome: 'success', value: 1 }]);
  });
});

describe('flowrun runtime server: connections', () => {
  it('keeps a run going when the client that submitted it disconnects mid-wait', async () => {
    const { server } = await serve();
    const g = await gate();
    const first = await connect(server.url);
    const run = await first.submit({ flow: GATE_FLOW, inputs: [{ url: g.url, item: 'a' }] });
    await g.arrived(1);
    const wait = run.wait().catch((e: unknown) => e);
    await first.close();
    expect(await wait).toBeInstanceOf(ConnectionClosedError);
    g.release();
    const second = await client(server.url);
    const done = await second.run(run.runId).wait();
    expect(done.items.success).toBe(1);
  });

  it('closes every connection on close(); pending calls reject with an error naming the URL', async () => {
    const { server } = await serve();
    const g = await gate();
    const c = await connect(server.url);
    const run = await c.submit({ flow: GATE_FLOW, inputs: [{ url: g.url, item: 0 }] });
    await g.arrived(1);
    const wait = run.wait().catch((e: unknown) => e);
    const reason = new Promise<Error | undefined>((resolve) => c.onClose(resolve));
    await server.close();
    const err = await wait;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toContain(server.url);
    expect((await reason)?.message).toMatch(/code 1001/);
    expect(c.isClosed).toBe(true);
    await expect(c.list()).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

/**
 * Opens a raw TCP connection, sends a WebSocket upgrade request (with `token` if given) and, in
 * the same write, a masked frame holding a `runs/submit`; resolves with whatever the server sent.
 */
function pipelinedSubmit(url: string, token: string | undefined): Promise<string> {
  const { hostname, port } = new URL(url);
  const submit = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'runs/submit', params: { flow: ECHO_FLOW, inputs: [1] } });
  const request = [
    'GET / HTTP/1.1',
    `Host: ${hostname}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...(token !== undefined ? [`Authorization: Bearer ${token}`] : []),
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(Buffer.concat([Buffer.from(`${request}\r\n\r\n`, 'latin1'), maskedTextFrame(submit)]));
  });
}

/** A client-to-server text frame (RFC 6455 §5.2: clients mask their payload). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([header, mask, masked]);
}
