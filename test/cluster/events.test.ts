import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunEventStream } from '../../src/client/index.js';
import { CLUSTER_WAIT_MS, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends, type TestCluster } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/**
 * Run events on a cluster (docs/events.md): every node delivers the events of every node. A run
 * submitted to one node and executed in chunks by both reaches a watcher on the other, created,
 * started, progress and finished in order.
 */
let backends: ClusterBackends | undefined;
let cluster: TestCluster;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  backends = await startClusterBackends();
  cluster = await startTestCluster(backends, { nodes: 2, settings: { chunkSize: 4, leaseMs: 20_000, heartbeatMs: 1_000 } });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await backends?.close();
});

/** The events of `runId` a stream yields until that run's finish (the id is known once the submit answers), bounded by the cluster wait. */
async function eventsOfRun(stream: RunEventStream, runId: () => string | undefined): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const timeout = setTimeout(() => void stream.close(), CLUSTER_WAIT_MS);
  try {
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'run.finished' && event.run.runId === runId()) break;
    }
  } finally {
    clearTimeout(timeout);
  }
  return events.filter((e) => e.run.runId === runId());
}

describe.skipIf(!postgresAvailable())('cluster: run events', () => {
  it('delivers on node 2 the created, started, progress and finished events of a run submitted to node 1, in order', async () => {
    const [one, two] = cluster.nodes;
    const watchOnTwo = two.client.watch({ progressEveryMs: 50 });
    const watchOnOne = one.client.watch({ progressEveryMs: 50 });
    await Promise.all([watchOnTwo.start(), watchOnOne.start()]);
    let runId: string | undefined;
    const onTwo = eventsOfRun(watchOnTwo, () => runId);
    const onOne = eventsOfRun(watchOnOne, () => runId);
    const items = 40;
    const run = await one.client.submit({ flow: RECORD_FLOW, inputs: Array.from({ length: items }, (_, i) => ({ i, delayMs: 20 })), maxConcurrency: 8 });
    runId = run.runId;
    for (const events of [await onTwo, await onOne]) {
      const types = events.map((e) => e.type);
      expect(types[0]).toBe('run.created');
      expect(types[1]).toBe('run.started');
      expect(types.at(-1)).toBe('run.finished');
      expect(types.filter((t) => t === 'run.created' || t === 'run.started' || t === 'run.finished')).toEqual(['run.created', 'run.started', 'run.finished']);
      expect(types.filter((t) => t === 'run.progress').length).toBeGreaterThan(0);
      // The last progress has the final counters (a progress another node read earlier is dropped).
      expect(events.filter((e) => e.type === 'run.progress').at(-1)).toMatchObject({ run: { items: { total: items, success: items, pending: 0, running: 0 } } });
      expect(events.at(-1)!.run).toMatchObject({ status: 'success', items: { success: items } });
      const cursors = events.map((e) => Number(e.cursor));
      expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    }
    // Both nodes deliver the same stored events with the same cursors.
    expect((await onTwo).filter((e) => e.type !== 'run.progress').map((e) => e.cursor)).toEqual(
      (await onOne).filter((e) => e.type !== 'run.progress').map((e) => e.cursor),
    );
  }, 120_000);
});
