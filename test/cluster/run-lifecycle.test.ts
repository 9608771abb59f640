import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_WAIT_MS,
  RECORD_FLOW,
  startClusterBackends,
  startTestCluster,
  type ClusterBackends,
  type TestCluster,
} from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/**
 * The run lifecycle on a cluster (docs/cluster.md, docs/protocol.md): submits of one idempotency
 * key racing on two nodes create one run (the unique index decides), and any node answers
 * `runs/items`, `runs/metrics` and the metadata filters of a run whose items every node ran.
 */
let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  cluster = await startTestCluster(backends, { nodes: 2, settings: { chunkSize: 4 } });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await backends?.close();
});

describe.skipIf(!postgresAvailable())('run lifecycle on a cluster', () => {
  it('creates one run for 20 concurrent submits of one key spread over two nodes', async () => {
    const [node1, node2] = cluster.nodes;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        (n % 2 === 0 ? node1 : node2).client.submit({ flow: RECORD_FLOW, inputs: [{ item: n }], idempotencyKey: 'cluster-key', metadata: { batch: n } }),
      ),
    );
    const runIds = new Set(answers.map((a) => a.runId));
    expect(runIds.size).toBe(1);
    expect(answers.filter((a) => a.submitted?.deduplicated !== true)).toHaveLength(1);
    const rows = await cluster.sql<{ run_id: string }>(`SELECT run_id FROM runs WHERE idempotency_key = 'cluster-key'`);
    expect(rows.map((r) => r.run_id)).toEqual([...runIds]);
    // Nothing of the submits that lost was stored: one run row, one item, chunks of that run only.
    expect(await cluster.sql(`SELECT run_id FROM runs`)).toHaveLength(1);
    expect(await cluster.sql(`SELECT run_id FROM chunks WHERE run_id <> $1`, [[...runIds][0]])).toEqual([]);
  }, CLUSTER_WAIT_MS);

  it('answers items, metrics and metadata filters of a run from any node', async () => {
    const [node1, node2] = cluster.nodes;
    const inputs = Array.from({ length: 24 }, (_, item) => ({ item }));
    const run = await node1.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 8, metadata: { suite: 'lifecycle' }, recordSteps: true });
    const done = await cluster.waitForRun(node2, run.runId);
    expect(done.status).toBe('success');
    expect(done.metadata).toEqual({ suite: 'lifecycle' });
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(done.durationMs).toBe(Date.parse(done.completedAt!) - Date.parse(done.createdAt));

    const items = (await node2.client.run(run.runId).items({ limit: 1000, includeSteps: true })).items;
    expect(items.map((i) => i.itemIndex)).toEqual(inputs.map((_, i) => i));
    for (const item of items) {
      expect(item.durationMs).toBe(Date.parse(item.completedAt!) - Date.parse(item.startedAt!));
      expect(item.steps?.map((s) => [s.stepId, s.status])).toEqual([['record', 'success']]);
    }
    const metrics = await node2.client.run(run.runId).metrics();
    expect(metrics.components).toMatchObject([{ component: '/rec/record', calls: 24, failures: 0, retries: 0 }]);
    expect((await node2.client.list({ metadata: { suite: 'lifecycle' } })).runs.map((r) => r.runId)).toEqual([run.runId]);
  }, CLUSTER_WAIT_MS);
});
