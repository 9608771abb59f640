import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { RunNotFoundError } from '../../src/client/index.js';
import { PARENT_FLOW, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { startGate } from '../support/gate.js';
import { postgresAvailable } from '../support/postgres.js';

/**
 * `runs/delete` and the retention sweep on a cluster (docs/retention.md): a run is deleted with its
 * chunks and child runs from any node, and the sweep runs on one node at a time (a PostgreSQL
 * advisory lock: while another session holds it, every node answers -32013).
 */
const RETENTION_LOCK_KEY = 0x666c6f78;
const DAY = 86_400_000;

let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  cluster = await startTestCluster(backends, { nodes: 2, settings: { chunkSize: 4 }, config: { retention: { runs: '30d', blobs: '90d', sweepEvery: '24d' } } });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await backends?.close();
});

const rowsOf = async (runIds: readonly string[]) => {
  const [row] = await cluster.sql<{ runs: number; items: number; chunks: number }>(
    `SELECT (SELECT count(*) FROM runs WHERE run_id = ANY($1))::int AS runs,
            (SELECT count(*) FROM items WHERE run_id = ANY($1))::int AS items,
            (SELECT count(*) FROM chunks WHERE run_id = ANY($1))::int AS chunks`,
    [runIds],
  );
  return row;
};

describe.skipIf(!postgresAvailable())('cluster: runs/delete', () => {
  it('deletes a run with its items, chunks and child runs from any node; every node then finds nothing', async () => {
    const [node1, node2] = cluster.nodes;
    const parent = await node1.client.submit({ flow: PARENT_FLOW, inputs: [{ children: Array.from({ length: 6 }, (_, i) => ({ i })) }] });
    await cluster.waitForRun(node1, parent.runId);
    const children = (await node2.client.list({ parentRunId: parent.runId })).runs.map((r) => r.runId);
    expect(children).toHaveLength(1);
    const all = [parent.runId, ...children];
    expect(await rowsOf(all)).toEqual({ runs: 2, items: 7, chunks: 3 });

    expect(await node2.client.run(parent.runId).delete()).toEqual({ runIds: all, items: 7 });
    expect(await rowsOf(all)).toEqual({ runs: 0, items: 0, chunks: 0 });
    for (const node of cluster.nodes) {
      for (const runId of all) await expect(node.client.run(runId).status()).rejects.toBeInstanceOf(RunNotFoundError);
    }
  }, 120_000);

  it('refuses a run still running on any node (-32013)', async () => {
    const [node1, node2] = cluster.nodes;
    const gate = await startGate();
    try {
      const running = await node1.client.submit({ flow: RECORD_FLOW, inputs: [{ i: 0, gate: gate.url }] });
      await gate.arrived(1);
      const refused = await node2.client.run(running.runId).delete().catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: ErrorCodes.Conflict, data: { runId: running.runId } });
      gate.release();
      expect((await cluster.waitForRun(node2, running.runId)).status).toBe('success');
      expect(await node2.client.run(running.runId).delete()).toEqual({ runIds: [running.runId], items: 1 });
    } finally {
      await gate.close();
    }
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('cluster: retention sweep', () => {
  it('sweeps on one node at a time, and deletes the old runs once', async () => {
    const [node1, node2] = cluster.nodes;
    const old = await node1.client.submit({ flow: RECORD_FLOW, inputs: Array.from({ length: 9 }, (_, i) => ({ i })) });
    const kept = await node2.client.submit({ flow: RECORD_FLOW, inputs: [{ i: 0 }] });
    await cluster.waitForRun(node1, old.runId);
    await cluster.waitForRun(node1, kept.runId);
    await cluster.sql('UPDATE runs SET completed_at = $1 WHERE run_id = $2', [Date.now() - 40 * DAY, old.runId]);

    // Another session holds the sweep's lock: as if a node were sweeping right now.
    const session = new pg.Client({ connectionString: cluster.databaseUrl });
    await session.connect();
    try {
      expect((await session.query('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK_KEY])).rows).toEqual([{ locked: true }]);
      for (const node of cluster.nodes) {
        const busy = await node.client.gc().catch((e: unknown) => e);
        expect(busy).toMatchObject({ code: ErrorCodes.Conflict });
        expect((busy as Error).message).toContain('running on another node');
      }
      expect(await rowsOf([old.runId])).toMatchObject({ runs: 1, items: 9 });
    } finally {
      await session.end();
    }
    const reports = await Promise.all(cluster.nodes.map((node) => node.client.gc().catch((e: unknown) => e)));
    // Both at once: one deletes; the other found the lock held (-32013) or nothing left to delete.
    const deleting = reports.filter((r) => (r as { runs?: { count: number } }).runs?.count === 1);
    expect(deleting).toHaveLength(1);
    expect(deleting[0]).toMatchObject({ runs: { count: 1, items: 9, runIds: [old.runId] }, blobs: { count: 0 } });
    for (const other of reports.filter((r) => r !== deleting[0])) {
      expect(other instanceof Error ? (other as { code?: number }).code : (other as { runs: { count: number } }).runs.count).toBe(other instanceof Error ? ErrorCodes.Conflict : 0);
    }
    expect(await rowsOf([old.runId])).toEqual({ runs: 0, items: 0, chunks: 0 });
    expect((await node2.client.run(kept.runId).status()).status).toBe('success');
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('cluster: a run\'s defaults', () => {
  it('apply on whichever node executes its chunks', async () => {
    const [node1, node2] = cluster.nodes;
    const run = await node1.client.submit({
      flow: RECORD_FLOW,
      inputs: Array.from({ length: 8 }, (_, i) => ({ i, delayMs: 30_000 })),
      defaults: { timeoutMs: 300, transportRetries: 0 },
    });
    expect((await cluster.waitForRun(node2, run.runId)).items).toMatchObject({ total: 8, failed: 8 });
    const results = await node2.client.run(run.runId).itemResults();
    for (const { result } of results) {
      expect(result).toMatchObject({ outcome: 'failed', error: { data: { cause: { code: ErrorCodes.Timeout, data: { timeoutMs: 300 } } } } });
    }
  }, 120_000);
});

