import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../support/cleanups.js';
import {
  CLUSTER_WAIT_MS,
  expectEachItemSucceededOnce,
  PARENT_FLOW,
  RECORD_FLOW,
  startClusterBackends,
  startTestCluster,
  type CallRecord,
  type ClusterBackends,
  type TestCluster,
} from '../support/cluster.js';
import { startGate } from '../support/gate.js';
import { postgresAvailable } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * Any node answers for any run: a wait on one node wakes when a run submitted to another
 * finishes, a cancel on a third stops the items every node is running, and lists agree. A
 * run's maxConcurrency holds across the nodes.
 */
/** Items that never finish on their own: only a cancel ends them. */
const FOREVER_MS = 600_000;

let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  // Small chunks (smaller than maxConcurrency below): a run of a few dozen items is spread over every node.
  // No node is killed here: a long lease keeps a node starved of CPU from losing chunks.
  cluster = await startTestCluster(backends, { nodes: 3, settings: { chunkSize: 4, leaseMs: 20_000, heartbeatMs: 1_000 } });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await backends?.close();
});
const cleanups = cleanupAfterEach();

/** The call records of one run. */
const callsOf = (runId: string): CallRecord[] => cluster.calls().filter((call) => call.runId === runId);

/** Waits until every call of the run that started was aborted (each start has its abort). */
async function everyCallAborted(runId: string): Promise<CallRecord[]> {
  return until(
    async () => {
      const calls = callsOf(runId);
      const starts = calls.filter((call) => call.event === 'start');
      const aborted = new Set(calls.filter((call) => call.event === 'abort').map((call) => `${call.pid}/${call.item}/${call.attempt}`));
      return starts.every((call) => aborted.has(`${call.pid}/${call.item}/${call.attempt}`)) ? starts : undefined;
    },
    { what: `every call of run ${runId} aborted`, timeoutMs: CLUSTER_WAIT_MS },
  );
}

/** Waits until no node reports items in flight. */
async function clusterIdle(): Promise<void> {
  await until(async () => ((await cluster.nodesList(cluster.nodes[0])).every((node) => node.itemsInFlight === 0 && node.chunksHeld === 0) ? true : undefined), {
    what: 'every node idle',
    timeoutMs: CLUSTER_WAIT_MS,
  });
}

describe.skipIf(!postgresAvailable())('cluster: runs across nodes', () => {
  it('never has more than maxConcurrency calls of a run in flight across all nodes', async () => {
    const [first] = cluster.nodes;
    const items = 200;
    const maxConcurrency = 8;
    const inputs = Array.from({ length: items }, (_, i) => ({ i, delayMs: 20, log: true }));
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency });
    const status = await cluster.waitForRun(first, run.runId);
    expectEachItemSucceededOnce(status, await run.itemResults(), items);

    // Each call counted the calls in flight on every node's server as it started (this run is the first of the cluster).
    const starts = callsOf(run.runId).filter((call) => call.event === 'start');
    expect(starts).toHaveLength(items);
    const most = Math.max(...starts.map((call) => call.inFlight!));
    expect(most).toBeLessThanOrEqual(maxConcurrency);
    expect(most).toBeGreaterThan(1);
  }, 150_000);

  it('wakes a wait on node 2 when a run submitted to node 1 finishes, and every node lists the run', async () => {
    const [a, b] = cluster.nodes;
    const gate = await startGate();
    cleanups.push(() => gate.close());
    const inputs = Array.from({ length: 12 }, (_, i) => ({ i, gate: gate.url }));
    const run = await a.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 100 });
    await until(async () => (gate.count() === inputs.length ? true : undefined), { what: 'every item at the gate', timeoutMs: CLUSTER_WAIT_MS });

    // Every node lists it running once the items' starts are stored (the journal is written in batches), and reads it as it lists it.
    for (const node of cluster.nodes) {
      const listed = await until(
        async () => {
          const found = (await node.client.list({ limit: 1000 })).runs.find((r) => r.runId === run.runId);
          return found?.items.running === inputs.length ? found : undefined;
        },
        { what: `${node.name} listing the run with every item running`, timeoutMs: CLUSTER_WAIT_MS },
      );
      expect(listed.status, node.name).toBe('running');
      const got = await node.client.run(run.runId).status();
      expect.soft({ status: got.status, items: got.items }, `runs/get on ${node.name}`).toEqual({ status: listed.status, items: listed.items });
    }

    let woke = false;
    const waiting = b.client
      .run(run.runId)
      .wait({ timeoutMs: CLUSTER_WAIT_MS })
      .then((status) => ((woke = true), status));
    // Asked after the wait on the same connection: the run is not finished, and the wait still waits.
    expect((await b.client.run(run.runId).status()).completedAt).toBeUndefined();
    expect(woke).toBe(false);
    gate.release();
    const status = await waiting;
    expect(status.status).toBe('success');
    expect(status.items).toEqual({ total: inputs.length, pending: 0, running: 0, success: inputs.length, failed: 0, cancelled: 0 });

    for (const node of cluster.nodes) {
      const listed = (await node.client.list({ limit: 1000 })).runs.find((r) => r.runId === run.runId);
      expect(listed?.status, node.name).toBe('success');
    }
  }, 150_000);

  it('cancels on node 3 a run submitted to node 1: the calls in flight on every node are cancelled and no item starts after', async () => {
    const [a, , c] = cluster.nodes;
    const inputs = Array.from({ length: 300 }, (_, i) => ({ i, delayMs: FOREVER_MS, log: true }));
    const run = await a.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 1000 });
    // Every node is running some of its items.
    await until(
      async () => {
        const nodes = new Set(callsOf(run.runId).map((call) => call.ppid));
        return cluster.nodes.every((node) => nodes.has(node.pid)) ? true : undefined;
      },
      { what: 'items of the run started on every node', timeoutMs: CLUSTER_WAIT_MS },
    );

    await c.client.run(run.runId).cancel();
    const cancelAnsweredAt = Date.now();
    const status = await cluster.waitForRun(a, run.runId);
    expect(status.status).toBe('cancelled');
    expect(status.items).toEqual({ total: inputs.length, pending: 0, running: 0, success: 0, failed: 0, cancelled: inputs.length });

    const starts = await everyCallAborted(run.runId);
    expect(new Set(starts.map((call) => call.ppid)).size).toBe(3);
    await clusterIdle();
    expect(callsOf(run.runId).filter((call) => call.event === 'start' && call.at > cancelAnsweredAt)).toEqual([]);
    expect((await cluster.chunks(run.runId)).filter((chunk) => chunk.state !== 'done')).toEqual([]);
    expect((await cluster.items(run.runId)).filter((item) => item.status !== 'cancelled')).toEqual([]);
  }, 150_000);

  it('cancels on node 2 a parent run submitted to node 1: its child run, wherever it runs, ends cancelled', async () => {
    const [a, b, c] = cluster.nodes;
    const children = Array.from({ length: 16 }, (_, i) => ({ i, delayMs: FOREVER_MS, log: true }));
    const parent = await a.client.submit({ flow: PARENT_FLOW, inputs: [{ i: 0, children, childConcurrency: 16 }], maxConcurrency: 1 });
    const childRunId = await until(
      async () => {
        const rows = await cluster.sql<{ run_id: string }>('SELECT run_id FROM runs WHERE parent_run_id = $1', [parent.runId]);
        const id = rows[0]?.run_id;
        return id !== undefined && callsOf(id).filter((call) => call.event === 'start').length === children.length ? id : undefined;
      },
      { what: 'the child run with every item started', timeoutMs: CLUSTER_WAIT_MS },
    );

    await b.client.run(parent.runId).cancel();
    expect((await cluster.waitForRun(c, parent.runId)).status).toBe('cancelled');
    const child = await cluster.waitForRun(c, childRunId);
    expect(child.status).toBe('cancelled');
    expect(child.parentRunId).toBe(parent.runId);
    expect(child.items).toEqual({ total: children.length, pending: 0, running: 0, success: 0, failed: 0, cancelled: children.length });
    await everyCallAborted(childRunId);
  }, 150_000);

});
