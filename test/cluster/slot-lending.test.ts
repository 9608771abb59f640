import { describe, expect, it } from 'vitest';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { RECORD_FLOW, startInProcessNode } from '../support/cluster.js';
import { startGate } from '../support/gate.js';
import { postgresAvailable, postgresForFile } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * A chunk whose items have all started lends the workers it has no item for to the chunk of its
 * run claimed next (docs/cluster.md, "maxConcurrency across the cluster"), instead of leaving them
 * idle until its last item ends: the run keeps `maxConcurrency` items in flight across a chunk's
 * slow tail, and never more.
 */
const MAX_CONCURRENCY = 4;
const CHUNK = 4;
const ITEMS = 32;

const postgres = postgresForFile();

describe.skipIf(!postgresAvailable())('cluster: workers lent across chunks', () => {
  it('starts the next chunk on the idle workers of a chunk held up by one slow item, within maxConcurrency', async () => {
    const store = await PostgresStateStore.connect({ url: await postgres.database('slot_lending') });
    const node = await startInProcessNode(store, { chunkSize: CHUNK });
    const gate = await startGate();
    try {
      // The first item of every chunk waits at the gate; the others end at once. Each running
      // chunk (2 of 2 slots: maxConcurrency over 2 chunks a node) is soon held up by its first
      // item alone. Without lending, 2 items wait at the gate and nothing else ever starts.
      const inputs = Array.from({ length: ITEMS }, (_, i) => (i % CHUNK === 0 ? { i, gate: gate.url, log: true } : { i, log: true }));
      const run = await node.runtime.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: MAX_CONCURRENCY });
      await until(async () => (gate.count() === MAX_CONCURRENCY ? true : undefined), {
        what: `${MAX_CONCURRENCY} items at the gate`,
        timeoutMs: 60_000,
      });
      gate.release();
      const status = await run.wait({ timeoutMs: 60_000 });
      expect(status.items).toEqual({ total: ITEMS, pending: 0, running: 0, success: ITEMS, failed: 0, cancelled: 0 });
      // Never more in flight than maxConcurrency (each call counts the calls in flight as it starts).
      const starts = node.calls().filter((call) => call.event === 'start' && call.runId === run.runId);
      expect(starts).toHaveLength(ITEMS);
      expect(Math.max(...starts.map((call) => call.inFlight ?? Infinity))).toBeLessThanOrEqual(MAX_CONCURRENCY);
      expect(starts.every((call) => call.attempt === 1)).toBe(true);
    } finally {
      await gate.close();
      await node.close();
      await store.close();
    }
  }, 120_000);
});
