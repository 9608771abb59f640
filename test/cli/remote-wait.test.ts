import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunsGet, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { waitForRun } from '../../src/cli/remote.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { RunHandle, type RuntimeCaller } from '../../src/client/run-handle.js';
import { startRuntimeServer, type RuntimeServer } from '../../src/serve/ws-server.js';
import { startGate } from '../support/gate.js';
import { createWorkspace, GATE_FLOW, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let runtime: Runtime;
let server: RuntimeServer;
let client: FlowrunClient;

beforeAll(async () => {
  ws = await createWorkspace();
  runtime = await Runtime.create({ config: await loadConfig({ configPath: ws.config }) });
  server = await startRuntimeServer({ runtime, port: 0 });
  client = await connect(server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
  await runtime.close();
  await ws.remove();
});

/** A stderr stand-in: `isTTY` as given, every write recorded, `drawn` resolves at the first write. */
function fakeStderr(isTTY: boolean) {
  const writes: string[] = [];
  let firstWrite!: () => void;
  const drawn = new Promise<void>((r) => (firstWrite = r));
  const stream = { isTTY, write: (s: string) => (writes.push(s), firstWrite(), true) } as unknown as NodeJS.WriteStream;
  return { stream, writes, drawn };
}

/** A RunHandle whose `runs/get` params are recorded. */
function spiedHandle(runId: string) {
  const gets: unknown[] = [];
  const caller: RuntimeCaller = {
    sendRequest: ((d: typeof RunsGet, params: unknown, options: unknown) => {
      if (d.method === RunsGet.method) gets.push(params);
      return client.sendRequest(d, params as never, options as never);
    }) as RuntimeCaller['sendRequest'],
  };
  return { handle: new RunHandle(caller, runId), gets };
}

describe('waitForRun (submit --wait, get --wait)', () => {
  it('on a terminal draws a progress bar fed by bounded long polls until the run ends', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [0, 1].map((item) => ({ url: gate.url, item })) });
      await gate.arrived(2);
      const { handle, gets } = spiedHandle(run.runId);
      const stderr = fakeStderr(true);
      const waiting = waitForRun(handle, run.submitted, stderr.stream);
      await stderr.drawn;
      gate.release();
      const status: RunStatus = await waiting;
      expect(status.status).toBe('success');
      expect(gets.length).toBeGreaterThan(0);
      for (const params of gets) expect(params).toEqual({ runId: run.runId, wait: true, timeoutMs: 500 });
      // The bar is replaced by its summary line, with the elapsed time.
      expect(stderr.writes.at(-1)).toMatch(/^\r\x1b\[2K2 items: 2 ok · 0 failed · 0 cancelled · .* · elapsed [\d.]+m?s\n$/);
    } finally {
      await gate.close();
    }
  });

  it('without a terminal writes nothing and waits with one unbounded long poll', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const { handle, gets } = spiedHandle(run.runId);
      const stderr = fakeStderr(false);
      const waiting = waitForRun(handle, undefined, stderr.stream);
      gate.release();
      expect((await waiting).status).toBe('success');
      expect(gets).toEqual([{ runId: run.runId, wait: true, timeoutMs: undefined }]);
      expect(stderr.writes).toEqual([]);
    } finally {
      await gate.close();
    }
  });

  it('returns a status that is already terminal without asking again', async () => {
    const run = await client.submit({ flow: GATE_FLOW, inputs: [] });
    const { handle, gets } = spiedHandle(run.runId);
    expect((await waitForRun(handle, run.submitted, fakeStderr(true).stream)).status).toBe('success');
    expect(gets).toEqual([]);
  });
});
