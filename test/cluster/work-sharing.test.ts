import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../support/cleanups.js';
import { expectEachItemSucceededOnce, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/** A big run submitted to one node is executed by every node of the cluster, each item once. */
const ITEMS = 20_000;

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

describe.skipIf(!postgresAvailable())('cluster: sharing the work of a run', () => {
  it('runs every item of a 20,000-item run submitted to node 1 exactly once, on all three nodes', async () => {
    const cluster = await startTestCluster(backends!, { nodes: 3 });
    cleanups.push(() => cluster.close());
    const [first] = cluster.nodes;
    const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i }));
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 256 });

    const status = await cluster.waitForRun(first, run.runId, 120_000);
    const outputs = expectEachItemSucceededOnce(status, await run.itemResults(), ITEMS);
    expect(outputs.every((output) => output.attempt === 1)).toBe(true);
    // Every node ran some of it: the node of a result is the parent of the server that answered.
    const ranBy = new Set(outputs.map((output) => output.ppid));
    expect([...ranBy].sort((a, b) => a - b)).toEqual(cluster.nodes.map((node) => node.pid).sort((a, b) => a - b));

    // The database agrees: one row per item, each settled on its first attempt; every chunk done.
    const [counts] = await cluster.sql<{ rows: string; success: string; attempts: number }>(
      "SELECT count(*) AS rows, count(*) FILTER (WHERE status = 'success') AS success, max(attempts) AS attempts FROM items WHERE run_id = $1",
      [run.runId],
    );
    expect(counts).toEqual({ rows: String(ITEMS), success: String(ITEMS), attempts: 1 });
    const chunks = await cluster.chunks(run.runId);
    expect(chunks).toHaveLength(Math.ceil(ITEMS / cluster.settings.chunkSize));
    expect(chunks.filter((chunk) => chunk.state !== 'done')).toEqual([]);
    const [runRow] = await cluster.sql<{ status: string }>('SELECT status FROM runs WHERE run_id = $1', [run.runId]);
    expect(runRow.status).toBe('success');
  }, 180_000);
});
