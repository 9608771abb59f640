import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_MIGRATIONS } from '../../src/statestore/postgres-schema.js';
import { expectEachItemSucceededOnce, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/**
 * Three nodes started at the same moment on an empty database come up together, and a big run
 * submitted to one of them is executed by all of them, each item once.
 */
const ITEMS = 20_000;

let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  // All three at once, on a database nobody migrated yet. No node is killed here: a long lease keeps
  // a node starved of CPU on a busy machine from losing chunks (every item must run once).
  cluster = await startTestCluster(backends, { nodes: 3, settings: { leaseMs: 20_000, heartbeatMs: 1_000 } });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await backends?.close();
});

const byNumber = (a: number, b: number) => a - b;

describe.skipIf(!postgresAvailable())('cluster: nodes sharing the work of a run', () => {
  it('come up together on an empty database: the schema migrated once to the newest version, three live nodes listed by each', async () => {
    expect(await cluster.sql('SELECT version FROM flowrun_schema')).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
    expect(await cluster.sql("SELECT to_regclass('chunks')::text AS name")).toEqual([{ name: 'chunks' }]);
    const pids = cluster.nodes.map((node) => node.pid).sort(byNumber);
    for (const node of cluster.nodes) {
      const listed = await cluster.nodesList(node);
      expect(listed.map((n) => n.nodeId).sort(), node.name).toEqual(cluster.nodes.map((n) => n.nodeId).sort());
      expect(listed.map((n) => n.pid).sort(byNumber)).toEqual(pids);
      expect(listed.every((n) => n.alive)).toBe(true);
    }
  });

  it('run every item of a 20,000-item run submitted to node 1 exactly once, on all three nodes', async () => {
    const [first] = cluster.nodes;
    const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i }));
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 256 });

    const status = await cluster.waitForRun(first, run.runId, 120_000);
    const outputs = expectEachItemSucceededOnce(status, await run.itemResults(), ITEMS);
    expect(outputs.every((output) => output.attempt === 1)).toBe(true);
    // Every node ran some of it: the node of a result is the parent of the server that answered.
    const ranBy = new Set(outputs.map((output) => output.ppid));
    expect([...ranBy].sort(byNumber)).toEqual(cluster.nodes.map((node) => node.pid).sort(byNumber));

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
