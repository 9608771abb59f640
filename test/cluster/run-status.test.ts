import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { RECORD_FLOW, startInProcessNode } from '../support/cluster.js';
import { startGate } from '../support/gate.js';
import { postgresAvailable, postgresForFile } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * `runs/get` without results on a cluster node (docs/cluster.md): the run's status and counters
 * come from its row and a count of its items by status, the same derivation as `runs/list`, so a
 * run of millions of items answers without reading them; the answer is the one a loaded run gives.
 */
const ITEMS = 40;

const postgres = postgresForFile();

/** The answer without its results and without what changes with the clock while a run goes on. */
function comparable(status: RunStatus, running: boolean): Record<string, unknown> {
  const { results: _results, ...rest } = status as RunStatus & { results?: unknown };
  if (!running) return rest;
  const { durationMs: _d, throughput: _t, ...steady } = rest as Record<string, unknown>;
  return steady;
}

describe.skipIf(!postgresAvailable())('cluster: runs/get without results', () => {
  it('answers from the run row and item counts, as a loaded run would, while the run goes on and once it ended', async () => {
    const url = await postgres.database('run_status');
    const store = await PostgresStateStore.connect({ url });
    let itemReads = 0;
    const calls = { runSummary: 0, runHead: 0 };
    // The real store; only its whole-run reads, summaries (a count of every item) and row reads are counted.
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const method = value as (...a: unknown[]) => unknown;
        if (key === 'loadRun') return (...args: unknown[]) => (itemReads++, method.apply(target, args));
        if (key === 'runSummary' || key === 'runHead') return (...args: unknown[]) => (calls[key]++, method.apply(target, args));
        return method.bind(target);
      },
    });
    const node = await startInProcessNode(counted, { chunkSize: 8 });
    const { runtime } = node;
    const gate = await startGate();
    try {
      // Half the items finish at once, the other half wait at the gate.
      const inputs = Array.from({ length: ITEMS }, (_, i) => (i % 2 === 0 ? { i } : { i, gate: gate.url }));
      const run = await runtime.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: ITEMS });
      const { runId } = run;
      const loaded = () => runtime.runs.get({ runId, wait: false, includeResults: true, resultOrder: 'byIndex', offset: 0 });
      await until(async () => {
        const status = await run.status();
        return status.items.success === ITEMS / 2 && status.items.running === ITEMS / 2 ? status : undefined;
      }, { what: 'half the items done, half running', timeoutMs: 60_000 });
      expect(itemReads).toBe(0);
      const running = await run.status();
      const withResults = await loaded();
      expect(itemReads).toBeGreaterThan(0);
      expect(comparable(running, true)).toEqual(comparable(withResults, true));
      expect(running.status).toBe('running');

      const reads = itemReads;
      const { runSummary: summaries, runHead: heads } = calls;
      const waiting = run.wait({ timeoutMs: 60_000 });
      // As the wait starts it reads the run's row, and counts no item: that happens once, as it ends.
      await until(async () => (calls.runHead > heads ? true : undefined), { what: 'the wait reading the run row', timeoutMs: 60_000 });
      expect(calls.runSummary).toBe(summaries);
      gate.release();
      const finished = await waiting;
      expect(itemReads).toBe(reads);
      expect(finished.status).toBe('success');
      expect(finished.items).toEqual({ total: ITEMS, pending: 0, running: 0, success: ITEMS, failed: 0, cancelled: 0 });
      expect(comparable(finished, false)).toEqual(comparable(await loaded(), false));

      // Lookups of a finished run made while one reads it share that read (the run.finished event may be reading it too).
      const before = calls.runSummary;
      const answers = await Promise.all([run.status(), run.status(), run.status()]);
      expect(calls.runSummary).toBeLessThanOrEqual(before + 1);
      for (const answer of answers) expect(comparable(answer, false)).toEqual(comparable(finished, false));
    } finally {
      await gate.close();
      await node.close();
      await store.close();
    }
  }, 120_000);
});
