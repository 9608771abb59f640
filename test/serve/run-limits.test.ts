import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RpcError, type FlowResult } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { startGate } from '../support/gate.js';
import { ROOT } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { GATE_FLOW } from '../support/workspace.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A flow that runs itself through `/builtin/eval` (a fork bomb) meets the limits on child-run
 * depth and live runs: refused with -32014 naming the limit, the run and its depth, while the
 * server goes on answering everyone else.
 */
const GATE_SERVER = join(ROOT, 'test/fixtures/gate-server.mjs');

/** Evaluates the flow `flow_id` (itself) on `{flow_id}`: one child per level. */
const SELF = {
  name: 'self',
  steps: [{ id: 'again', component: '/builtin/eval', input: { flow_id: { $input: 'flow_id' }, input: { flow_id: { $input: 'flow_id' } } } }],
  output: { $step: 'again' },
};
/** Two children per level: the run tree doubles at each depth. */
const FORK = {
  name: 'fork',
  steps: ['left', 'right'].map((id) => ({ id, component: '/builtin/eval', input: { flow_id: { $input: 'flow_id' }, input: { flow_id: { $input: 'flow_id' } } } })),
  output: { left: { $step: 'left' }, right: { $step: 'right' } },
};

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('limits');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Serves a config with the builtins, the gate server at `/t/*`, memory stores and `limits`. */
async function serveWithLimits(name: string, limits: string): Promise<ServedProcess> {
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    `plugins:
  builtin: { type: builtin }
  t: { type: stepflow, command: node, args: [${JSON.stringify(GATE_SERVER)}] }
routes:
  "/builtin/{*component}": [{ plugin: builtin }]
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: memory }
stateStore: { type: memory }
${limits}
`,
  );
  return spawnServe(['--config', config]);
}

/**
 * Follows a chain of `/builtin/eval` results down to the failure at its bottom; returns the child
 * run ids passed on the way and the error of the step that failed.
 */
function bottomOf(result: FlowResult): { runIds: string[]; cause: { code: number; message: string; data: any } } {
  const runIds: string[] = [];
  let current = result;
  while (current.outcome === 'success') {
    // The run's own result carries `value`; FlowResults inside /eval outputs carry `result`, as Stepflow's do.
    const payload = 'value' in current ? current.value : (current as { result?: unknown }).result;
    const out = payload as { result: FlowResult; run_id: string };
    runIds.push(out.run_id);
    current = out.result;
  }
  if (current.outcome !== 'failed') throw new Error(`unexpected outcome ${current.outcome}`);
  return { runIds, cause: (current.error.data as { cause: any }).cause };
}

/** Every -32014 refusal in a tree of eval results. */
function refusalsIn(value: unknown, found: any[] = []): any[] {
  if (typeof value !== 'object' || value === null) return found;
  const v = value as Record<string, unknown>;
  if (v.code === ErrorCodes.TooManyRequests) found.push(v);
  for (const child of Object.values(v)) refusalsIn(child, found);
  return found;
}

describe('child-run depth', () => {
  let served: ServedProcess;
  let client: FlowrunClient;
  beforeAll(async () => {
    served = await serveWithLimits('default', '');
    client = await connect(served.url);
  });
  afterAll(async () => {
    await client?.close();
    await served?.stop();
  });

  it('stops a flow that evaluates itself at depth 16 by default, with -32014 naming the limit, the run and its depth', async () => {
    const flowId = await client.putBlob(SELF, 'flow');
    const run = await client.submit({ flowId, inputs: [{ flow_id: flowId }] });
    const done = await run.wait();
    expect(done.status).toBe('success'); // `/eval` hands a nested failure back inside its result
    const [top] = await run.result();
    const { runIds, cause } = bottomOf(top);
    expect(runIds).toHaveLength(16); // children at depths 1..16
    const deepest = runIds[15];
    expect(cause).toEqual({
      code: ErrorCodes.TooManyRequests,
      message: `run ${deepest} is at depth 16: its child run would exceed maxRunDepth 16`,
      data: { limit: 'maxRunDepth', max: 16, runId: deepest, depth: 16 },
    });
    // The chain is linked parent to child all the way down.
    const deepestStatus = await client.run(deepest).status();
    expect(deepestStatus.parentRunId).toBe(runIds[14]);
    expect((await client.list({ parentRunId: deepest })).runs).toEqual([]);
  });
});

describe('live runs', () => {
  let served: ServedProcess;
  beforeAll(async () => {
    served = await serveWithLimits('live', 'limits: { maxLiveRuns: 20, maxRunDepth: 8 }');
  });
  afterAll(async () => {
    await served?.stop();
  });

  it('refuses a fork bomb beyond maxLiveRuns while other clients are answered and their runs finish', async () => {
    const bomber = await connect(served.url);
    const other = await connect(served.url);
    const gate = await startGate();
    try {
      // Another client's run, live all through the bomb until the gate opens.
      const held = await other.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 'other' }] });
      await gate.arrived(1);

      const flowId = await bomber.putBlob(FORK, 'flow');
      const bomb = await bomber.submit({ flowId, inputs: [{ flow_id: flowId }] });
      const listed = await other.list({ limit: 100 });
      expect(listed.runs.map((r) => r.runId)).toContain(held.runId);
      expect((await fetch(`${served.httpUrl}health`)).status).toBe(200);

      const finished = await bomb.wait();
      expect(finished.status).toBe('success');
      const refusals = refusalsIn(await bomb.result());
      expect(refusals.length).toBeGreaterThan(0);
      for (const refusal of refusals) {
        expect(refusal.message).toMatch(/too many live runs: 20 runs are not finished yet \(maxLiveRuns\)|would exceed maxRunDepth 8/);
      }
      const live = refusals.filter((r) => r.data.limit === 'maxLiveRuns');
      expect(live.length).toBeGreaterThan(0);
      expect(live[0].data).toEqual({ limit: 'maxLiveRuns', max: 20, runId: expect.any(String), depth: expect.any(Number) });

      // The held run was never disturbed, and finishes once released.
      gate.release();
      const heldDone = await held.wait();
      expect(heldDone.status).toBe('success');
      expect(await held.result()).toEqual([{ outcome: 'success', value: { item: 'other', gate: 'open' } }]);
    } finally {
      await gate.close();
      await bomber.close();
      await other.close();
    }
  });

  it('refuses a top-level submit with -32014 while maxLiveRuns runs are live, and accepts one once a run finishes', async () => {
    const served2 = await serveWithLimits('two', 'limits: { maxLiveRuns: 2 }');
    const client = await connect(served2.url);
    const gate = await startGate();
    try {
      const runs = [await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] }), await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 1 }] })];
      const refused = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 2 }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RpcError);
      expect((refused as RpcError).code).toBe(ErrorCodes.TooManyRequests);
      expect((refused as RpcError).message).toContain('maxLiveRuns');
      expect((refused as RpcError).data).toEqual({ limit: 'maxLiveRuns', max: 2 });
      // Reads are not runs: they go on being answered.
      expect((await client.list({ limit: 10 })).runs).toHaveLength(2);

      gate.release();
      for (const run of runs) expect((await run.wait()).status).toBe('success');
      const after = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 3 }] });
      expect((await after.wait()).status).toBe('success');
    } finally {
      await gate.close();
      await client.close();
      await served2.stop();
    }
  });
});
