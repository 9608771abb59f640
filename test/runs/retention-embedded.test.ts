import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, RunsGc } from '../../protocol/index.js';
import { InProcessCaller } from '../../src/api/in-process-caller.js';
import { RunNotFoundError } from '../../src/client/index.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';

/**
 * An embedded runtime on the memory stores deletes runs and sweeps through its in-process caller,
 * as a served one does (docs/retention.md): the run and its child runs are gone; without
 * `retention:` a sweep deletes nothing.
 */
const MAP_FLOW = {
  name: 'fan-out',
  steps: [{ id: 'each', component: '/builtin/map', input: { items: { $input: 'xs' }, workflow: { $literal: { steps: [], output: { $input: '$' } } } } }],
  output: { $step: 'each', path: 'successful' },
};

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

async function embedded(retention?: Record<string, string>): Promise<Runtime> {
  const config = parseConfig(
    {
      plugins: { builtin: { type: 'builtin' } },
      routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
      blobStore: { type: 'memory' },
      ...(retention && { retention }),
    },
    { workingDirectory: process.cwd(), env: {} },
  );
  return (runtime = await Runtime.create({ config }));
}

describe('an embedded runtime', () => {
  it('deletes a finished run with its child run; the handle then finds nothing', async () => {
    const rt = await embedded();
    const parent = await rt.submit({ flow: MAP_FLOW, inputs: [{ xs: [1, 2, 3] }], wait: true });
    expect(parent.submitted?.status).toBe('success');
    const deleted = await parent.delete();
    expect(deleted.runIds).toHaveLength(2);
    expect(deleted).toMatchObject({ runIds: [parent.runId, expect.any(String)], items: 4 });
    for (const runId of deleted.runIds) await expect(rt.run(runId).status()).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('sweeps nothing without retention:, and says so', async () => {
    const rt = await embedded();
    await rt.submit({ flow: MAP_FLOW, inputs: [{ xs: [1] }], wait: true });
    const report = await new InProcessCaller(rt.service).sendRequest(RunsGc, { dryRun: false });
    expect(report).toEqual({ dryRun: false, runs: { count: 0, items: 0, runIds: [] }, blobs: { count: 0, bytes: 0, blobIds: [] } });
  });

  it('refuses a bad dryRun, naming it (-32602)', async () => {
    const rt = await embedded({ runs: '30d' });
    const error = await new InProcessCaller(rt.service).sendRequest(RunsGc, { dryRun: 1 } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((error as Error).message).toContain('dryRun');
  });
});
