import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';
import { killWorkers, startWorker } from '../support/workers.js';
import type { WorkOutput } from '../workers/served-pools.js';

/**
 * Workers dial in to one node of a cluster: only that node claims chunks of a run whose flow routes
 * to their pool, so no item waits on a node without workers (docs/cluster.md, docs/workers.md).
 */
const ITEMS = 400;
const WORK_FLOW = { steps: [{ id: 'w', component: '/w/work', input: { i: { $input: 'i' }, ms: 2 } }], output: { $step: 'w' } };

let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  cluster = await startTestCluster(backends, {
    nodes: 2,
    settings: { chunkSize: 16, leaseMs: 20_000, heartbeatMs: 1_000 },
    extra: { plugins: { pool: { type: 'workers', pool: 'p', waitForWorkerMs: 120_000 } }, routes: { '/w/{*component}': [{ plugin: 'pool' }] } },
  });
}, 120_000);
afterAll(async () => {
  await killWorkers();
  await cluster?.close();
  await backends?.close();
});

describe.skipIf(!postgresAvailable())('cluster: workers dial in to one node', () => {
  it('runs every item of a run submitted to a node without workers on the node they dialled, each once', async () => {
    const [withoutWorkers, withWorkers] = cluster.nodes;
    const worker = await startWorker(withWorkers.served.url, 'w1', { pool: 'p', capacity: 8 });
    expect(worker.registrations[0].node).toBe(withWorkers.nodeId);

    const run = await withoutWorkers.client.submit({ flow: WORK_FLOW, inputs: Array.from({ length: ITEMS }, (_, i) => ({ i })), maxConcurrency: 64 });
    const status = await cluster.waitForRun(withoutWorkers, run.runId, 120_000);
    expect(status.items).toMatchObject({ total: ITEMS, success: ITEMS, failed: 0, cancelled: 0 });
    const outputs = (await run.itemResults()).map((item) => (item.result as { value: WorkOutput }).value);
    expect(outputs.map((o) => o.i).sort((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    // No call was made twice: the node without workers never started an item.
    expect(outputs.every((o) => o.attempt === 1)).toBe(true);
    const chunks = await cluster.sql<{ n: string }>("SELECT count(*) AS n FROM chunks WHERE run_id = $1 AND state = 'done'", [run.runId]);
    expect(chunks[0].n).toBe(String(ITEMS / 16));
  }, 180_000);
});
