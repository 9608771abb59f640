import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackReceiver, expectedSignature } from '../support/callback-receiver.js';
import { CLUSTER_WAIT_MS, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * A cluster delivers each completion callback once (docs/callbacks.md): every node looks at the
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
