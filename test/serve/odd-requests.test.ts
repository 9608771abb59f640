import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCodes, MAX_TIMEOUT_MS, RpcError, RunsGet, RunsSubmit } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { StepflowPlugin } from '../../src/plugins/stepflow-plugin.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer, type RuntimeServer } from '../../src/serve/ws-server.js';
import { startGate } from '../support/gate.js';
import { ROOT } from '../support/paths.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Odd requests to a served runtime on SQLite: timeouts past what a timer can hold, and inputs
 * nested deep enough to overflow a recursive serializer, are refused naming the field, and the
 * runtime goes on serving.
 */
let dir: string;
let runtime: Runtime;
let server: RuntimeServer;
let client: FlowrunClient;
beforeAll(async () => {
  dir = await makeTempDir('odd');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/fixtures/gate-server.mjs'))}] }
routes:
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: filesystem, path: ${JSON.stringify(join(dir, 'blobs'))} }
stateStore: { type: sqlite, path: ${JSON.stringify(join(dir, 'state.db'))} }
`,
  );
  runtime = await Runtime.create({ config: await loadConfig({ configPath: join(dir, 'flowrun.yaml') }) });
  server = await startRuntimeServer({ runtime, port: 0 });
  client = await connect(server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
  await runtime.close();
  await rm(dir, { recursive: true, force: true });
});

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

/** Sends one raw text frame (JSON the client library could not even serialize) and returns the answer. */
async function rawExchange(frame: string): Promise<{ error?: { code: number; message: string } }> {
  const socket = new WebSocket(server.url);
  try {
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    socket.send(frame);
    return JSON.parse(await answer);
  } finally {
    socket.terminate();
  }
}

/** A value nested `depth` levels deep, as JSON text: `[[[…]]]`. */
const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('timeoutMs past what a timer can hold', () => {
  const tooLong = MAX_TIMEOUT_MS + 1;

  it('refuses runs/submit and runs/get with -32602 naming timeoutMs, and the runtime keeps serving', async () => {
    const submit = await rpcError(client.sendRequest(RunsSubmit, { flow: ECHO_FLOW, inputs: [1], wait: true, timeoutMs: tooLong }));
    expect(submit.code).toBe(ErrorCodes.InvalidParams);
    expect(submit.message).toContain('field "timeoutMs"');

    const run = await client.submit({ flow: ECHO_FLOW, inputs: [1] });
    const get = await rpcError(client.sendRequest(RunsGet, { runId: run.runId, wait: true, timeoutMs: tooLong }));
    expect(get.code).toBe(ErrorCodes.InvalidParams);
    expect(get.message).toContain('field "timeoutMs"');
    expect(await run.result()).toEqual([{ outcome: 'success', value: 1 }]);
  });

  it('accepts the largest timeoutMs, and the wait lasts until the run ends', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      let answered = false;
      const waiting = client.sendRequest(RunsGet, { runId: run.runId, wait: true, timeoutMs: MAX_TIMEOUT_MS }).then((s) => {
        answered = true;
        return s;
      });
      // A later request on the same connection is answered first: the wait did not return at once.
      expect((await run.status()).status).toBe('running');
      expect(answered).toBe(false);
      gate.release();
      expect((await waiting).status).toBe('success');
    } finally {
      await gate.close();
    }
  });

  it('refuses a step timeoutMs above the limit at submit, naming the step field', async () => {
    const flow = { ...ECHO_FLOW, steps: [{ ...ECHO_FLOW.steps[0], timeoutMs: tooLong }] };
    const err = await rpcError(client.submit({ flow, inputs: [1] }));
    expect(err.code).toBe(ErrorCodes.InvalidParams);
    expect(JSON.stringify(err.toObject())).toContain('timeoutMs');
  });

  it('refuses a plugin timeoutMs above the limit in the config, naming the field', () => {
    const config = { plugins: { tools: { type: 'stepflow', command: 'node', timeoutMs: tooLong } } };
    let error: unknown;
    try {
      parseConfig(config, { workingDirectory: dir, env: {}, file: join(dir, 'flowrun.yaml') });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('plugins.tools.timeoutMs');
  });

  it('refuses a plugin timeoutMs above the limit when the plugin is made in code', () => {
    const make = () => new StepflowPlugin({ name: 'tools', command: 'node', timeoutMs: tooLong, runtimeApi: runtime.service });
    expect(make).toThrow(`"plugins.tools.timeoutMs" must be a positive integer of at most ${MAX_TIMEOUT_MS} ms`);
  });
});

describe('deeply nested submits', () => {
  it('refuses an input nested 100,000 levels deep with -32602 naming it, stores nothing, and keeps serving', async () => {
    const before = (await client.list({ limit: 1000 })).runs.length;
    const frame = `{"jsonrpc":"2.0","id":1,"method":"runs/submit","params":{"flow":${JSON.stringify(ECHO_FLOW)},"inputs":[1,${deepJson(100_000)}]}}`;
    const answer = await rawExchange(frame);
    expect(answer.error?.code).toBe(ErrorCodes.InvalidParams);
    expect(answer.error?.message).toBe('Invalid params: field "inputs[1]" is nested deeper than 256 levels');
    expect((await client.list({ limit: 1000 })).runs).toHaveLength(before);
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [2] });
    expect(await run.result()).toEqual([{ outcome: 'success', value: 2 }]);
  });

  it('names variables nested too deep', async () => {
    const frame = `{"jsonrpc":"2.0","id":1,"method":"runs/submit","params":{"flow":${JSON.stringify(ECHO_FLOW)},"inputs":[1],"variables":{"v":${deepJson(300)}}}}`;
    const answer = await rawExchange(frame);
    expect(answer.error?.code).toBe(ErrorCodes.InvalidParams);
    expect(answer.error?.message).toContain('field "variables"');
  });

  it('accepts an input exactly as deep as the limit', async () => {
    const input = JSON.parse(deepJson(256)) as unknown;
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [input] });
    expect(await run.result()).toEqual([{ outcome: 'success', value: input }]);
  });
});
