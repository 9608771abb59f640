import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { ComponentError } from '../../src/calls/component-error.js';
import type { ComponentCall } from '../../src/calls/plugin.js';
import {
  StepflowPlugin,
  type StepflowStdioPluginOptions,
  type StepflowWebSocketPluginOptions,
} from '../../src/plugins/stepflow-plugin.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { killWebSocketServerProcesses, startWebSocketServerProcess } from '../support/component-server.js';
import { makeTempDir } from '../support/temp-dir.js';
import { rejectionOf } from '../support/errors.js';
import { requireBuilt } from '../support/paths.js';

// Child processes run compiled JS: `npx tsc -p .` (or `npm test`) builds dist/ first.
const GREETER = 'dist/examples/greeter/server.js';
const BLOB_ROUNDTRIP = 'dist/examples/blob-roundtrip/server.js';
const TEST_SERVER = 'test/fixtures/stepflow-test-server.mjs';

let tmp: string;
beforeAll(async () => {
  requireBuilt(GREETER, BLOB_ROUNDTRIP, 'dist/src/sdk/index.js');
  tmp = await makeTempDir('stepflow-plugin');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const plugins: StepflowPlugin[] = [];
afterEach(async () => {
  await Promise.all(plugins.splice(0).map((p) => p.close()));
  await killWebSocketServerProcesses();
});

/** Options both transports accept. */
type CommonOptions = Partial<Pick<StepflowStdioPluginOptions, 'timeoutMs' | 'initializeTimeoutMs' | 'closeTimeoutMs' | 'maxMessageBytes'>>;

function plugin(script: string, options: Partial<StepflowStdioPluginOptions> = {}) {
  const api = new FakeRuntimeApi();
  const p = new StepflowPlugin({ name: 'tools', command: process.execPath, args: [script], logger: silentLogger, runtimeApi: api, ...options });
  plugins.push(p);
  return { plugin: p, api };
}

function wsPlugin(url: string, options: Partial<StepflowWebSocketPluginOptions> = {}) {
  const api = new FakeRuntimeApi();
  const p = new StepflowPlugin({ name: 'tools', url, logger: silentLogger, runtimeApi: api, ...options });
  plugins.push(p);
  return { plugin: p, api };
}

/** A plugin talking to a component server script, and how to bring that server back after it crashed. */
interface Served {
  plugin: StepflowPlugin;
  api: FakeRuntimeApi;
  /** A stdio server is respawned by the plugin itself; a WebSocket one is restarted here on the same port. */
  revive(): Promise<void>;
}

/** How the suite reaches a component server over one transport. */
interface TransportCase {
  transport: string;
  serve(script: string, options?: CommonOptions): Promise<Served>;
  /** How the error of a call lost with its crashed server reads. */
  lost: { message: RegExp; data: Record<string, unknown> };
}

const transports: TransportCase[] = [
  {
    transport: 'stdio',
    serve: async (script, options) => ({ ...plugin(script, options), revive: async () => undefined }),
    lost: {
      message: /component server "tools" exited \(code 1\) while running component "\/crash"/,
      data: { plugin: 'tools', stderr: expect.arrayContaining(['about to crash on purpose']) },
    },
  },
  {
    transport: 'websocket',
    serve: async (script, options) => {
      const server = await startWebSocketServerProcess(script);
      return {
        ...wsPlugin(server.url, options),
        revive: async () => {
          await server.exited;
          await startWebSocketServerProcess(script, { port: server.port });
        },
      };
    },
    lost: {
      message: /component server "tools" closed the connection \(code 1006\) while running component "\/crash"/,
      data: { plugin: 'tools', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/$/) },
    },
  },
];

let nextItem = 0;
function call(component: string, input: unknown, extra: Partial<ComponentCall> = {}): ComponentCall {
  return { component, input, attempt: 1, scope: { runId: 'run-a', itemIndex: nextItem++, stepId: 'step-1', flowId: 'sha256:flow' }, ...extra };
}

const componentError = (promise: Promise<unknown>): Promise<ComponentError> => rejectionOf(promise, ComponentError);

const pidOf = (result: unknown): number => (result as { value: { pid: number } }).value.pid;

describe.each(transports)('StepflowPlugin over $transport', ({ serve, lost }) => {
  describe('with the example servers', () => {
    it('executes components of the server', async () => {
      const { plugin: p } = await serve(GREETER);
      await p.start();
      await expect(p.execute(call('/greet', { name: 'Ann' }))).resolves.toEqual({ outcome: 'success', value: { message: 'Hello, Ann!' } });
      await expect(p.execute(call('/shout', { text: 'hey' }))).resolves.toEqual({ outcome: 'success', value: { text: 'HEY' } });
    });

    it('lists the server components with their schemas', async () => {
      const { plugin: p } = await serve(GREETER);
      await p.start();
      const components = await p.listComponents();
      expect(components.map((c) => c.component)).toEqual(['/greet', '/shout']);
      expect(components[0]!.input_schema).toMatchObject({ properties: { name: { type: 'string' } } });
    });

    it('turns a component error response into a ComponentError with its code, message and data', async () => {
      const { plugin: p } = await serve(GREETER);
      await p.start();
      const error = await componentError(p.execute(call('/greet', { name: 3 })));
      expect(error.error.code).toBe(ErrorCodes.InvalidParams);
      expect(error.error.message).toContain('input.name');
      expect(error.isTransportFailure).toBe(false);
      expect(error.plugin).toBe('tools');
      expect(error.component).toBe('/greet');
    });

    it('serves blob callbacks to the server while it executes', async () => {
      const { plugin: p, api } = await serve(BLOB_ROUNDTRIP);
      await p.start();
      const data = { list: [1, 'two', { three: 3 }], flag: true };
      const result = await p.execute(call('/store_and_load', { data }));
      expect(result).toMatchObject({ outcome: 'success', value: { data, same: true } });
      const blobId = (result as { value: { blob_id: string } }).value.blob_id;
      await expect(api.blobs.get(blobId)).resolves.toEqual({ data, blobType: 'data' });
      expect(api.callsOf('blobs/put')).toHaveLength(1);
      expect(api.callsOf('blobs/get')).toHaveLength(1);
    });
  });

  describe('callbacks', () => {
    it('links a run submitted by a component to the item being executed', async () => {
      const { plugin: p, api } = await serve(TEST_SERVER);
      await p.start();
      const c = call('/submit_child', { x: 1 });
      await expect(p.execute(c)).resolves.toEqual({ outcome: 'success', value: { runId: 'run-1' } });
      const [submit] = api.callsOf('runs/submit');
      expect(submit!.caller.parent).toEqual(c.scope);
      expect(submit!.params).toMatchObject({ observability: { run_id: 'run-a', step_id: 'step-1', flow_id: 'sha256:flow' } });
    });

    it('finds the parent among concurrent executes by run and step id', async () => {
      const { plugin: p, api } = await serve(TEST_SERVER);
      await p.start();
      const other = call('/slow', { tag: 'other' }, { scope: { runId: 'run-b', itemIndex: 0, stepId: 'wait', flowId: 'sha256:flow' } });
      const controller = new AbortController();
      const pending = p.execute({ ...other, signal: controller.signal }).catch(() => undefined);
      const c = call('/submit_child', 1, { scope: { runId: 'run-c', itemIndex: 4, stepId: 'spawn', flowId: 'sha256:flow' } });
      await p.execute(c);
      expect(api.callsOf('runs/submit')[0]!.caller.parent).toEqual(c.scope);
      controller.abort();
      await pending;
    });
  });

  describe('failures', () => {
    it('fails the pending call with -32005 when the server dies, and serves the next call from a fresh server', async () => {
      const { plugin: p, revive } = await serve(TEST_SERVER);
      await p.start();
      const first = pidOf(await p.execute(call('/pid', null)));
      const error = await componentError(p.execute(call('/crash', null)));
      expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
      expect(error.isTransportFailure).toBe(true);
      expect(error.error.message).toMatch(lost.message);
      expect(error.error.data).toMatchObject(lost.data);
      await revive();
      const next = await p.execute(call('/pid', null));
      expect(next).toMatchObject({ outcome: 'success' });
      expect(pidOf(next)).not.toBe(first);
    });

    it('fails every pending call at once when the server dies', async () => {
      const { plugin: p } = await serve(TEST_SERVER);
      await p.start();
      const slow = [1, 2, 3].map((n) => componentError(p.execute(call('/slow', { tag: `t${n}` }))));
      await componentError(p.execute(call('/crash', null)));
      for (const error of await Promise.all(slow)) expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    });

    it('shares one new connection among concurrent calls', async () => {
      const { plugin: p, revive } = await serve(TEST_SERVER);
      await p.start();
      await componentError(p.execute(call('/crash', null)));
      await revive();
      const results = await Promise.all([1, 2, 3, 4].map(() => p.execute(call('/pid', null))));
      expect(new Set(results.map(pidOf)).size).toBe(1);
    });

    it('times out a call with -32006 naming the component, and cancels it on the server', async () => {
      const { plugin: p } = await serve(TEST_SERVER, { timeoutMs: 300 });
      await p.start();
      const error = await componentError(p.execute(call('/slow', { tag: 'too-slow' })));
      expect(error.error.code).toBe(ErrorCodes.Timeout);
      expect(error.error.message).toContain('"/slow"');
      expect(error.error.message).toContain('300 ms');
      // The $/cancelRequest precedes this call on the connection.
      await expect(p.execute(call('/cancellations', null))).resolves.toEqual({ outcome: 'success', value: { cancelled: ['too-slow'] } });
    });

    it('prefers the call timeout over the plugin default', async () => {
      const { plugin: p } = await serve(TEST_SERVER, { timeoutMs: 60_000 });
      await p.start();
      const error = await componentError(p.execute(call('/slow', { tag: 'x' }, { timeoutMs: 200 })));
      expect(error.error.code).toBe(ErrorCodes.Timeout);
      expect(error.error.message).toContain('200 ms');
    });

    it('cancels a call with -32800 when its signal aborts, and the server sees $/cancelRequest', async () => {
      const { plugin: p } = await serve(TEST_SERVER);
      await p.start();
      const controller = new AbortController();
      const pending = componentError(p.execute({ ...call('/slow', { tag: 'aborted' }), signal: controller.signal }));
      // Once the server answers something sent after the execute, the execute is running there.
      await p.execute(call('/echo', null));
      controller.abort();
      expect((await pending).error.code).toBe(ErrorCodes.RequestCancelled);
      await expect(p.execute(call('/cancellations', null))).resolves.toEqual({ outcome: 'success', value: { cancelled: ['aborted'] } });
    });
  });

  describe('close', () => {
    it('fails later calls with -32005 naming the closed plugin', async () => {
      const { plugin: p } = await serve(GREETER);
      await p.start();
      await p.close();
      const error = await componentError(p.execute(call('/greet', { name: 'late' })));
      expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
      expect(error.error.message).toBe('plugin "tools" is closed');
    });
  });
});

describe('StepflowPlugin over stdio: process failures', () => {
  it('gives up with -32005 and the last stderr lines when respawned servers keep dying before initialize', async () => {
    const flag = join(tmp, 'die-flag');
    const { plugin: p } = plugin(TEST_SERVER, { env: { FIXTURE_DIE_AT_START_IF_EXISTS: flag } });
    await p.start();
    await writeFile(flag, '');
    await componentError(p.execute(call('/crash', null)));
    const error = await componentError(p.execute(call('/echo', 1)));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.error.message).toContain('gave up after 5 attempts');
    expect(error.error.message).toContain('fatal: refusing to start (die flag present)');
    expect(error.error.data).toMatchObject({ plugin: 'tools', stderr: ['fatal: refusing to start (die flag present)'] });
    await rm(flag);
    await expect(p.execute(call('/echo', 2))).resolves.toEqual({ outcome: 'success', value: 2 });
  });

  it('skips garbage lines on the server stdout', async () => {
    const { plugin: p } = plugin(TEST_SERVER, { env: { FIXTURE_GARBAGE: '1' } });
    await p.start();
    await expect(p.execute(call('/echo', { a: 1 }))).resolves.toEqual({ outcome: 'success', value: { a: 1 } });
    await expect(p.execute(call('/echo', [2]))).resolves.toEqual({ outcome: 'success', value: [2] });
  });
});

describe('StepflowPlugin over stdio: start', () => {
  it('fails a server that never answers initialize within the initialize timeout', async () => {
    const { plugin: p } = plugin('test/fixtures/silent-server.mjs', { initializeTimeoutMs: 1000 });
    const error = await componentError(p.start());
    expect(error.message).toContain('component server "tools"');
    expect(error.message).toContain('did not answer initialize within 1000 ms');
    expect(p.pid).toBeUndefined();
  });

  it('refuses a server speaking another protocol version, naming both versions', async () => {
    const { plugin: p } = plugin('test/fixtures/version-mismatch-server.mjs');
    const error = await componentError(p.start());
    expect(error.error.code).toBe(ErrorCodes.NotInitialized);
    expect(error.message).toContain('"tools"');
    expect(error.message).toContain('protocol version 2');
    expect(error.message).toContain('version 1');
  });

  it('reports a server that exits before initialize with its command and last stderr lines', async () => {
    const { plugin: p } = plugin('test/fixtures/dies-at-start-server.mjs');
    const error = await componentError(p.start());
    expect(error.message).toContain('"tools"');
    expect(error.message).toContain('dies-at-start-server.mjs');
    expect(error.message).toContain('exited (code 2) before answering initialize');
    expect(error.message).toContain('fatal: config file flowrun-fixture.yaml not found');
  });

  it('reports a command that cannot be spawned', async () => {
    const { plugin: p } = plugin('x', { command: 'flowrun-no-such-command-xyz' });
    const error = await componentError(p.start());
    expect(error.message).toContain('"tools"');
    expect(error.message).toContain('flowrun-no-such-command-xyz');
  });

  it('passes env on top of the inherited environment', async () => {
    const { plugin: p } = plugin(TEST_SERVER, { env: { FLOWRUN_FIXTURE_VAR: 'set' } });
    await p.start();
    await expect(p.execute(call('/env', 'FLOWRUN_FIXTURE_VAR'))).resolves.toEqual({ outcome: 'success', value: 'set' });
    await expect(p.execute(call('/env', 'PATH'))).resolves.toEqual({ outcome: 'success', value: process.env.PATH });
  });

  it('passes env alone when inheritEnv is false', async () => {
    const { plugin: p } = plugin(TEST_SERVER, { inheritEnv: false, env: { FLOWRUN_FIXTURE_VAR: 'only' } });
    await p.start();
    await expect(p.execute(call('/env', 'FLOWRUN_FIXTURE_VAR'))).resolves.toEqual({ outcome: 'success', value: 'only' });
    await expect(p.execute(call('/env', 'PATH'))).resolves.toEqual({ outcome: 'success', value: null });
  });
});

describe('StepflowPlugin over stdio: close', () => {
  it('closes the server stdin and lets it exit', async () => {
    const { plugin: p } = plugin(GREETER);
    await p.start();
    const pid = p.pid!;
    await p.close();
    expect(() => process.kill(pid, 0)).toThrow();
    const error = await componentError(p.execute(call('/greet', { name: 'late' })));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
  });

  it('kills a server that does not exit after its stdin closed', async () => {
    const { plugin: p } = plugin('test/fixtures/stubborn-server.mjs', { closeTimeoutMs: 200 });
    await p.start();
    const pid = p.pid!;
    await p.close();
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('kills a server that never answered initialize', async () => {
    const { plugin: p } = plugin('test/fixtures/silent-server.mjs', { initializeTimeoutMs: 500 });
    const error = await componentError(p.start());
    const pid = (error.error.data as { pid?: number }).pid;
    expect(pid).toBeTypeOf('number');
    expect(() => process.kill(pid!, 0)).toThrow();
  });
});
