import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../support/cleanups.js';
import { expectEachItemSucceededOnce, RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/** A run's maxConcurrency holds across the cluster: the sum over every node, not per node. */
const ITEMS = 200;
const MAX_CONCURRENCY = 8;

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

describe.skipIf(!postgresAvailable())('cluster: maxConcurrency of a run', () => {
  it('never has more than maxConcurrency calls of a run in flight across all nodes', async () => {
    // Chunks smaller than maxConcurrency, so that several nodes may hold chunks of the run at once.
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: { chunkSize: 4 } });
    cleanups.push(() => cluster.close());
    const [first] = cluster.nodes;
    const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i, delayMs: 20, log: true }));
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: MAX_CONCURRENCY });
    const status = await cluster.waitForRun(first, run.runId);
    expectEachItemSucceededOnce(status, await run.itemResults(), ITEMS);

    // Each call counted the calls in flight on every node's server as it started.
    const starts = cluster.calls().filter((call) => call.event === 'start' && call.runId === run.runId);
    expect(starts).toHaveLength(ITEMS);
    const most = Math.max(...starts.map((call) => call.inFlight!));
    expect(most).toBeLessThanOrEqual(MAX_CONCURRENCY);
    expect(most).toBeGreaterThan(1);
  });
});
