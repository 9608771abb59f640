import { createServer, type AddressInfo, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { ErrorCodes } from '../../protocol/index.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { ComponentError } from '../../src/calls/component-error.js';
import type { ComponentCall } from '../../src/calls/plugin.js';
import { StepflowPlugin, type StepflowWebSocketPluginOptions } from '../../src/plugins/stepflow-plugin.js';
import { Runtime } from '../../src/runtime.js';
import { createComponentServer, defineComponent, type WebSocketServing } from '../../src/sdk/index.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { FakeWebSocketComponentServer, type FakeServerOptions } from '../fixtures/fake-websocket-component-server.js';
import { killWebSocketServerProcesses, startWebSocketServerProcess } from '../support/component-server.js';
import { TEMP_ROOT } from '../support/temp-dir.js';
import { rejectionOf } from '../support/errors.js';
import { requireBuilt } from '../support/paths.js';
import { cleanupAfterEach } from '../support/cleanups.js';

// The fixture process runs the compiled SDK: `npx tsc -p .` (or `npm test`) builds dist/ first.
const TEST_SERVER = 'test/fixtures/stepflow-test-server.mjs';

beforeAll(() => {
  requireBuilt('dist/src/sdk/index.js');
});

const cleanups = cleanupAfterEach(killWebSocketServerProcesses);

function wsPlugin(url: string, options: Partial<StepflowWebSocketPluginOptions> = {}) {
  const api = new FakeRuntimeApi();
  const plugin = new StepflowPlugin({ name: 'remote', url, logger: silentLogger, runtimeApi: api, ...options });
  cleanups.push(() => plugin.close());
  return { plugin, api };
}

async function fakeServer(options: FakeServerOptions = {}) {
  const server = await FakeWebSocketComponentServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

let nextItem = 0;
function call(component: string, input: unknown): ComponentCall {
  return { component, input, attempt: 1, scope: { runId: 'run-ws', itemIndex: nextItem++, stepId: 'step', flowId: 'sha256:flow' } };
}

const componentError = (promise: Promise<unknown>): Promise<ComponentError> => rejectionOf(promise, ComponentError);

const pidOf = (result: unknown): number => (result as { value: { pid: number } }).value.pid;

describe('StepflowPlugin over WebSocket: a server that dies and comes back', () => {
  it('fails in-flight calls with -32005 when the server is killed, and reconnects once it listens again on the same port', async () => {
    const first = await startWebSocketServerProcess(TEST_SERVER);
    const { plugin } = wsPlugin(first.url);
    await plugin.start();
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => plugin.execute(call('/echo', i))));
    expect(before.map((r) => (r as { value: number }).value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const firstPid = pidOf(await plugin.execute(call('/pid', null)));

    const inFlight = Array.from({ length: 20 }, (_, i) => componentError(plugin.execute(call('/slow', { tag: `t${i}` }))));
    // Answered after every /slow call above reached the server: all twenty are running there now.
    await plugin.execute(call('/echo', 'barrier'));
    first.child.kill('SIGKILL');
    await first.exited;
    for (const error of await Promise.all(inFlight)) {
      expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
      expect(error.isTransportFailure).toBe(true);
      expect(error.error.message).toContain('component server "remote" closed the connection');
    }

    // Nobody listens: the call tries a bounded number of times, then gives up.
    const down = await componentError(plugin.execute(call('/echo', 'while down')));
    expect(down.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(down.error.message).toContain('cannot be reached');
    expect(down.error.message).toContain('gave up after 5 attempts');

    const second = await startWebSocketServerProcess(TEST_SERVER, { port: first.port });
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => plugin.execute(call('/echo', i))));
    expect(after.every((r) => r.outcome === 'success')).toBe(true);
    const secondPid = pidOf(await plugin.execute(call('/pid', null)));
    expect(secondPid).toBe(second.child.pid);
    expect(secondPid).not.toBe(firstPid);
  });

  it('re-initializes every new connection before calling on it', async () => {
    const server = await fakeServer();
    const { plugin } = wsPlugin(server.url);
    await plugin.start();
    await plugin.execute(call('/echo', 1));
    const pending = componentError(plugin.execute(call('/hang', null)));
    await server.waitFor('components/execute', 2);
    server.dropConnections();
    expect((await pending).error.code).toBe(ErrorCodes.ResourceUnavailable);
    await expect(plugin.execute(call('/echo', 2))).resolves.toEqual({ outcome: 'success', value: 2 });
    expect(server.connectionCount).toBe(2);
    expect(server.methodsOf(1)).toEqual(['initialize', 'initialized', 'components/execute', 'components/execute']);
    expect(server.methodsOf(2)).toEqual(['initialize', 'initialized', 'components/execute']);
  });
});

describe('StepflowPlugin over WebSocket: keep-alive and frames', () => {
  it('drops a server that stops answering pings and fails its pending call with -32005', async () => {
    const server = await fakeServer({ freezesOnHang: true });
    const { plugin } = wsPlugin(server.url, { pingIntervalMs: 100 });
    await plugin.start();
    const error = await componentError(plugin.execute(call('/hang', null)));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.error.message).toBe('component server "remote" stopped answering pings (sent every 100 ms) while running component "/hang"');
  });

  it('refuses a frame over maxMessageBytes: the call fails with -32005 and the next call reconnects', async () => {
    const server = await fakeServer();
    const { plugin } = wsPlugin(server.url, { maxMessageBytes: 1024 });
    await plugin.start();
    const error = await componentError(plugin.execute(call('/echo', 'x'.repeat(4096))));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.error.message).toMatch(/broke the connection: Max payload size exceeded/);
    await expect(plugin.execute(call('/echo', 'small'))).resolves.toEqual({ outcome: 'success', value: 'small' });
    expect(server.connectionCount).toBe(2);
  });

  it('skips text frames that are not JSON and binary frames, and the next call works', async () => {
    const server = await fakeServer({ garbage: true });
    const { plugin } = wsPlugin(server.url);
    await plugin.start();
    await expect(plugin.execute(call('/echo', { a: 1 }))).resolves.toEqual({ outcome: 'success', value: { a: 1 } });
    await expect(plugin.execute(call('/echo', [2]))).resolves.toEqual({ outcome: 'success', value: [2] });
    expect(server.connectionCount).toBe(1);
  });
});

describe('StepflowPlugin over WebSocket: connecting', () => {
  it('refuses a server speaking another protocol version, naming both versions', async () => {
    const server = await fakeServer({ protocolVersion: 2 });
    const { plugin } = wsPlugin(server.url);
    const error = await componentError(plugin.start());
    expect(error.error.code).toBe(ErrorCodes.NotInitialized);
    expect(error.message).toContain('"remote"');
    expect(error.message).toContain('protocol version 2');
    expect(error.message).toContain('version 1');
  });

  it('fails a server that never answers initialize within the initialize timeout, naming its URL', async () => {
    const server = await fakeServer({ answerInitialize: false });
    const { plugin } = wsPlugin(server.url, { initializeTimeoutMs: 300 });
    const error = await componentError(plugin.start());
    expect(error.message).toBe(`component server "remote" (url "${server.url}") did not answer initialize within 300 ms`);
    expect(error.error.data).toMatchObject({ plugin: 'remote', url: server.url });
  });

  it('reports a URL where nobody listens, and retries it a bounded number of times per call', async () => {
    const gone = await FakeWebSocketComponentServer.start();
    const url = gone.url;
    await gone.close();
    const { plugin } = wsPlugin(url);
    const error = await componentError(plugin.start());
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.message).toContain(`component server "remote" (url "${url}") cannot be reached`);
    expect(error.message).toContain('ECONNREFUSED');
    const again = await componentError(plugin.execute(call('/echo', 1)));
    expect(again.error.message).toContain('gave up after 5 attempts');
  });

  it('gives up on a server that never answers the upgrade within connectTimeoutMs, without retrying', async () => {
    // Accepts the TCP connection and says nothing: the upgrade hangs.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of held) socket.destroy();
      silent.close(() => resolve());
    }));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    const { plugin } = wsPlugin(url, { connectTimeoutMs: 200 });
    const error = await componentError(plugin.execute(call('/echo', 1)));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.message).toContain(`component server "remote" (url "${url}") cannot be reached: no answer to the upgrade within 200 ms`);
    expect(error.message).not.toContain('gave up');
  });

  it('does not retry an upgrade the server refuses with an HTTP error', async () => {
    const serving = await sdkServer({ path: '/components' });
    const { plugin } = wsPlugin(serving.url.replace('/components', '/elsewhere'));
    const error = await componentError(plugin.execute(call('/double', 2)));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.message).toContain('the upgrade was refused with HTTP 400');
    expect(error.message).not.toContain('gave up');
  });

  it('rejects a URL that is not ws:// or wss://', () => {
    expect(() => wsPlugin('http://127.0.0.1:1/')).toThrow(/must be a ws:\/\/ or wss:\/\/ URL/);
  });

  it('closes the connection normally on close()', async () => {
    const server = await fakeServer();
    const { plugin } = wsPlugin(server.url);
    await plugin.start();
    await plugin.close();
    expect(server.closeCodes).toEqual([1000]);
  });
});

describe('Runtime with a WebSocket plugin', () => {
  it('routes flow steps to a server at `url`, serving its callbacks', async () => {
    const serving = await sdkServer({ path: '/components' });
    const config = parseConfig(
      {
        plugins: { remote: { type: 'stepflow', url: serving.url } },
        routes: { '/remote/{*component}': [{ plugin: 'remote' }] },
        blobStore: { type: 'memory' },
      },
      { workingDirectory: TEMP_ROOT, env: {} },
    );
    const runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
    cleanups.push(() => runtime.close());
    const flow = {
      steps: [
        { id: 'double', component: '/remote/double', input: { $input: 'n' } },
        { id: 'store', component: '/remote/store', input: { $step: 'double' } },
      ],
      output: { doubled: { $step: 'double' }, blob: { $step: 'store' } },
    };
    const { results } = await runtime.runs.runAndWait({ flow }, [{ n: 1 }, { n: 21 }]);
    expect(results).toMatchObject([
      { outcome: 'success', value: { doubled: 2, blob: { blob_id: expect.stringMatching(/^sha256:/) } } },
      { outcome: 'success', value: { doubled: 42 } },
    ]);
    const blobId = (results[1] as { value: { blob: { blob_id: string } } }).value.blob.blob_id;
    await expect(runtime.blobs.get(blobId)).resolves.toMatchObject({ data: 42 });
  });
});

/** An in-process SDK server on WebSocket serving `/double` and `/store` (which puts its input in a blob). */
async function sdkServer(options: { path?: string } = {}): Promise<WebSocketServing> {
  const server = createComponentServer({
    name: 'ws-sdk',
    logger: silentLogger,
    components: [
      defineComponent({ name: '/double', input: z.number(), handler: (n) => n * 2 }),
      defineComponent({ name: '/store', handler: async (input, ctx) => ({ blob_id: await ctx.putBlob(input) }) }),
    ],
  });
  const serving = await server.serveWebSocket(options);
  cleanups.push(() => serving.close());
  return serving;
}
