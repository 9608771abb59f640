import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackReceiver, expectedSignature } from '../support/callback-receiver.js';
import { CLUSTER_WAIT_MS, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * Reruns and compares answer the same on every node, and a cluster delivers each completion callback once (docs/callbacks.md): every node looks at the
 * one outbox, and a due callback is claimed by one node under a lease (SKIP LOCKED). The outbox
 * row falls due in the transaction that finishes the run, whichever node completes its last chunk.
 */
let backends: ClusterBackends | undefined;
let cluster: TestCluster;
let receiver: CallbackReceiver;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  cluster = await startTestCluster(backends, { nodes: 3, settings: { chunkSize: 4 } });
  // Slow answers keep each attempt under way while the other nodes look at the outbox.
  receiver = await CallbackReceiver.start(() => 200, { answerAfterMs: 1500 });
}, 120_000);
afterAll(async () => {
  await receiver?.close();
  await cluster?.close();
  await backends?.close();
});

describe.skipIf(!postgresAvailable())('cluster: reruns and compares', () => {
  it('reruns chosen items of a run on any node, with source indices every node answers, and compares them', async () => {
    const [node1, node2, node3] = cluster.nodes;
    const source = await node1.client.submit({ flow: RECORD_FLOW, inputs: Array.from({ length: 10 }, (_, i) => ({ i })) });
    await cluster.waitForRun(node1, source.runId);
    const rerun = await node2.client.run(source.runId).rerun({ items: [7, 2, 9] });
    expect(rerun.submitted).toMatchObject({ rerunOf: source.runId, items: { total: 3 } });
    expect(await cluster.waitForRun(node3, rerun.runId)).toMatchObject({ status: 'success', rerunOf: source.runId });
    const results = await node3.client.run(rerun.runId).itemResults();
    expect(results.map((r) => [r.itemIndex, r.sourceIndex, (r.result as { value: { item: number } }).value.item])).toEqual([
      [0, 7, 7],
      [1, 2, 2],
      [2, 9, 9],
    ]);
    const compared = await node1.client.compare([source.runId, rerun.runId], { onlyDifferent: false });
    expect(compared.summary.items).toBe(10);
    expect(compared.summary.missing).toBe(7);
    expect(compared.items.filter((i) => i.results[1] !== null).map((i) => i.key)).toEqual([2, 7, 9]);
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('cluster: completion callbacks', () => {
  it('delivers the callback of every run exactly once, whichever nodes ran it and however many look at the outbox', async () => {
    const runs = 24;
    const handles = [];
    for (let k = 0; k < runs; k++) {
      const node = cluster.nodes[k % cluster.nodes.length];
      // Some runs of no items: they finish as they are stored.
      const inputs = Array.from({ length: k % 4 === 0 ? 0 : 6 }, (_, item) => ({ item }));
      handles.push(await node.client.submit({ flow: RECORD_FLOW, inputs, callback: { url: receiver.url, secret: `s${k}` } }));
    }
    for (const handle of handles) await cluster.waitForRun(cluster.nodes[0], handle.runId);
    await receiver.waitDelivered(runs, CLUSTER_WAIT_MS);

    // Every node records the attempt it made: once each is recorded, no other attempt is under way.
    const rows = await until(
      async () => {
        const r = await cluster.sql<{ run_id: string; attempts: number; delivered_at: number | null }>('SELECT run_id, attempts, delivered_at FROM callbacks');
        return r.length === runs && r.every((row) => row.delivered_at !== null) ? r : undefined;
      },
      { what: 'every delivery recorded', timeoutMs: CLUSTER_WAIT_MS },
    );
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    const received = receiver.received;
    expect(received).toHaveLength(runs);
    expect(new Set(received.map((r) => r.json.run.runId))).toEqual(new Set(handles.map((h) => h.runId)));
    expect(new Set(received.map((r) => r.headers['x-flowrun-delivery'])).size).toBe(runs);
    for (const r of received) {
      const k = handles.findIndex((h) => h.runId === r.json.run.runId);
      expect(r.headers['x-flowrun-signature']).toBe(expectedSignature(`s${k}`, r.body));
      expect(r.json.run.status).toBe('success');
    }
    // Any node shows the delivery state.
    const status = await cluster.nodes[2].client.run(handles[1].runId).status();
    expect(status.callback).toMatchObject({ url: receiver.url, attempts: 1, statusCode: 200 });
  }, 180_000);
});
