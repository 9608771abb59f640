import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, ConnectError, RequestCancelledError, RpcError, ErrorCodes, type FlowrunClient } from '../../src/client/index.js';
import type { RuntimeServer } from '../../src/serve/ws-server.js';
import { startGate } from '../support/gate.js';
import { freePort } from '../support/ports.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';
import { cleanupAfterEach } from '../support/cleanups.js';
import { startServedRuntime, type ServedRuntime } from '../support/served-runtime.js';

let served: ServedRuntime;
let server: RuntimeServer;

beforeAll(async () => {
  served = await startServedRuntime();
  ({ server } = served);
});
const cleanups = cleanupAfterEach();
afterAll(() => served.close());

async function client(): Promise<FlowrunClient> {
  const c = await connect(server.url);
  cleanups.push(() => c.close());
  return c;
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ url: string }> {
  const sockets: Socket[] = [];
  const tcp: Server = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), tcp.close(() => r()))));
  return { url: `ws://127.0.0.1:${(tcp.address() as AddressInfo).port}/` };
}

describe('connect', () => {
  it('fails with a ConnectError naming the URL when nothing listens there', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/`;
    const err = await connect(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toBe(`cannot connect to ${url}: connection refused (is \`flowrun serve\` running there?)`);
    expect((err as ConnectError).url).toBe(url);
  });

  it('gives up after connectTimeoutMs when the server never answers the handshake', async () => {
    const { url } = await silentServer();
    await expect(connect(url, { connectTimeoutMs: 100 })).rejects.toThrow(`cannot connect to ${url}: no answer within 100 ms`);
  });

  it('stops connecting when its signal aborts', async () => {
    const { url } = await silentServer();
    const controller = new AbortController();
    const pending = connect(url, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(`connecting to ${url} was aborted`);
    await expect(connect(url, { signal: controller.signal })).rejects.toBeInstanceOf(ConnectError);
  });

  it('reports the HTTP status of a server that does not upgrade', async () => {
    const http = createHttpServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (http.closeAllConnections(), http.close(() => r()))));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    await expect(connect(url)).rejects.toMatchObject({ name: 'ConnectError', status: 200, message: expect.stringContaining(url) });
  });

  it('refuses a URL that is not ws:// or wss://', async () => {
    await expect(connect('http://127.0.0.1:1/')).rejects.toThrow(/invalid runtime URL "http:\/\/127\.0\.0\.1:1\/"/);
    await expect(connect('not a url')).rejects.toBeInstanceOf(ConnectError);
  });
});

describe('FlowrunClient', () => {
  it('submits runs and gets handles on them by id', async () => {
    const c = await client();
    const handle = await c.submit({ flow: ECHO_FLOW, inputs: ['a', 'b'], flowLabel: 'client-test' });
    expect(handle.submitted).toMatchObject({ runId: handle.runId, flowName: 'echo', flowLabel: 'client-test' });
    const byId = c.run(handle.runId);
    expect(await byId.result()).toEqual([
      { outcome: 'success', value: 'a' },
      { outcome: 'success', value: 'b' },
    ]);
    expect((await c.list({ status: ['success'] })).runs.map((r) => r.runId)).toContain(handle.runId);
  });

  it('passes server errors through as RpcError with their code and data', async () => {
    const c = await client();
    await expect(c.run('no-such-run').status()).rejects.toMatchObject({ code: ErrorCodes.NotFound, data: { runId: 'no-such-run' } });
    const err = await c.submit({ flow: { steps: [] }, inputs: [], overrides: { ghost: { value: {} } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
  });

  it('abandons a wait when its signal aborts, and the connection keeps serving', async () => {
    const gate = await startGate();
    cleanups.push(() => gate.close());
    const c = await client();
    const run = await c.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
    await gate.arrived(1);
    const controller = new AbortController();
    const waiting = run.wait({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(await waiting).toBeInstanceOf(RequestCancelledError);
    expect((await run.status()).status).toBe('running');
    gate.release();
    expect((await run.wait()).status).toBe('success');
  });

  it('bounds a wait with timeoutMs and returns the current status', async () => {
    const gate = await startGate();
    cleanups.push(() => gate.close());
    const c = await client();
    const run = await c.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
    await gate.arrived(1);
    expect((await run.wait({ timeoutMs: 20 })).status).toBe('running');
    await run.cancel();
    expect((await run.wait()).status).toBe('cancelled');
  });

  it('fires onClose once and rejects later calls after close()', async () => {
    const c = await connect(server.url);
    const reasons: Array<Error | undefined> = [];
    c.onClose((reason) => reasons.push(reason));
    await c.close();
    await c.close();
    expect(c.isClosed).toBe(true);
    await expect(c.list()).rejects.toThrow(`connection to ${server.url} closed`);
    await new Promise((r) => setImmediate(r));
    expect(reasons).toHaveLength(1);
  });
});
