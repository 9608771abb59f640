import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Status } from '../../protocol/index.js';
import { cleanupAfterEach } from '../support/cleanups.js';
import {
  CLUSTER_WAIT_MS,
  expectEachItemSucceededOnce,
  RECORD_FLOW,
  recordOutput,
  startClusterBackends,
  startTestCluster,
  type ClusterBackends,
  type ClusterNode,
  type TestCluster,
} from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * One long run while nodes die, stop and freeze at moments picked by a seeded generator: SIGKILL,
 * SIGTERM, and SIGSTOP held past the lease and then SIGCONT (the frozen node wakes up as a zombie
 * of the chunks it held). A new node joins for each one lost. Afterwards every item has ended
 * exactly once, with exact counters, and nothing stored terminal ever changed (docs/cluster.md).
 *
 * The moments depend on the machine's speed, so a run is not exactly repeatable; the seed (set
 * FLOWRUN_CHAOS_SEED to pick another) is in every failure message to find the schedule again.
 */
const SEED = Number(process.env.FLOWRUN_CHAOS_SEED ?? 20261208);
const ITEMS = 2500;
const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i, delayMs: 200, log: true }));
const EVENTS = 5;
type Fault = 'kill' | 'term' | 'freeze';
const SETTINGS = { chunkSize: 16, leaseMs: 2000, heartbeatMs: 300 };
const FAULTS: readonly Fault[] = ['kill', 'term', 'freeze'];

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

/** mulberry32: a small seeded generator, so a failing schedule can be named by its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a terminal item looked like when first seen: it must never change afterwards. */
type Settled = Map<number, string>;

/** Adds the items stored terminal now that were not seen before; fails on one that changed. */
async function recordSettled(cluster: TestCluster, runId: string, seen: Settled, context: string): Promise<void> {
  for (const item of await cluster.items(runId)) {
    if (!isTerminal(item.status as Status)) continue;
    const text = JSON.stringify(item);
    const before = seen.get(item.item_index);
    if (before === undefined) seen.set(item.item_index, text);
    else expect(text, `item ${item.item_index} changed after it was stored terminal (${context})`).toBe(before);
  }
}

/** Waits (bounded) until some items of the run are stored succeeded, whichever nodes ran them. */
async function underWay(cluster: TestCluster, runId: string): Promise<void> {
  await until(
    async () => {
      const [row] = await cluster.sql<{ n: string }>(`SELECT count(*) AS n FROM items WHERE run_id = $1 AND status = 'success'`, [runId]);
      return Number(row.n) >= 5 ? true : undefined;
    },
    { what: `5 items of run ${runId} stored succeeded`, timeoutMs: CLUSTER_WAIT_MS },
  );
}

/** The nodes neither exited nor frozen. */
const running = (cluster: TestCluster): ClusterNode[] => cluster.nodes.filter((node) => node.state === 'running');

/** What a schedule did: its faults in order, and how many hit the run while it went. */
interface Schedule {
  done: string[];
  midRun: number;
  describe(): string;
}

/**
 * Runs `EVENTS` faults at seeded moments against the run's nodes, checking before and after each
 * that no item stored terminal changed; `between(event)` runs after each fault (a cancel, say).
 */
async function runFaults(cluster: TestCluster, runId: string, seen: Settled, seed: number, between?: (event: number) => Promise<void>): Promise<Schedule> {
  const random = seeded(seed);
  const done: string[] = [];
  let midRun = 0;
  for (let event = 0; event < EVENTS; event++) {
    await sleep(300 + Math.floor(random() * 1200));
    const fault = FAULTS[Math.floor(random() * FAULTS.length)];
    const candidates = running(cluster);
    const victim = candidates[Math.floor(random() * candidates.length)];
    const context = `seed ${seed}, event ${event + 1}: ${fault} ${victim.name}; before it: ${done.join(', ') || 'nothing'}`;
    await recordSettled(cluster, runId, seen, context);
    const [row] = await cluster.sql<{ completed_at: string | null }>('SELECT completed_at FROM runs WHERE run_id = $1', [runId]);
    if (row.completed_at === null) midRun++;
    if (fault === 'freeze') {
      await cluster.pause(victim);
      // Past its lease: the others take its chunks while it is frozen.
      await sleep(cluster.settings.leaseMs + 500 + Math.floor(random() * 1500));
      cluster.resume(victim);
    } else {
      if (fault === 'kill') expect(await cluster.kill(victim, 'SIGKILL'), context).toBe(-1);
      else expect(await cluster.stop(victim), context).toBe(0);
      await cluster.addNode();
    }
    done.push(`${fault} ${victim.name}`);
    await recordSettled(cluster, runId, seen, context);
    await between?.(event);
  }
  return { done, midRun, describe: () => `seed ${seed}: ${done.join(', ')}` };
}

/** Checks what every run under faults must end with: each item terminal once, stored once, in done chunks, finished once. */
async function expectEndedOnce(cluster: TestCluster, runId: string, seen: Settled, schedule: Schedule, minMidRun: number): Promise<void> {
  const described = schedule.describe();
  // Faults must hit the run while it goes, or this tests little.
  expect(schedule.midRun, described).toBeGreaterThanOrEqual(minMidRun);
  await recordSettled(cluster, runId, seen, `${described}; at the end`);
  expect(seen.size, described).toBe(ITEMS);
  const items = await cluster.items(runId);
  const settled = items.filter((item) => item.completion_seq !== null);
  expect(new Set(settled.map((item) => item.completion_seq)).size, described).toBe(settled.length);
  expect((await cluster.chunks(runId)).filter((chunk) => chunk.state !== 'done'), described).toEqual([]);
  // Counts a completing node stored for its chunk are those of the chunk's rows.
  const wrongCounts = await cluster.sql(
    `SELECT c.chunk_index, c.done_success, c.done_failed, c.done_cancelled, s.success, s.failed, s.cancelled
     FROM chunks c CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE i.status = 'success')::integer AS success, count(*) FILTER (WHERE i.status = 'failed')::integer AS failed,
         count(*) FILTER (WHERE i.status = 'cancelled')::integer AS cancelled
       FROM items i WHERE i.run_id = c.run_id AND i.item_index >= c.first_item AND i.item_index < c.end_item) s
     WHERE c.run_id = $1 AND c.done_success IS NOT NULL
       AND (c.done_success, c.done_failed, c.done_cancelled) IS DISTINCT FROM (s.success, s.failed, s.cancelled)`,
    [runId],
  );
  expect(wrongCounts, described).toEqual([]);
  const [{ stored }] = await cluster.sql<{ stored: string }>('SELECT count(*) AS stored FROM chunks WHERE run_id = $1 AND done_success IS NOT NULL', [runId]);
  expect(Number(stored), described).toBeGreaterThan(0);
  // The run turned terminal once: one run.finished for it, from whichever node finished it.
  const finished = await cluster.sql<{ n: string }>(`SELECT count(*) AS n FROM run_events WHERE run_id = $1 AND type = 'run.finished'`, [runId]);
  expect(Number(finished[0].n), described).toBe(1);
}

describe.skipIf(!postgresAvailable())('cluster: nodes killed, stopped and frozen at random moments of one run', () => {
  it(`every item ends exactly once, counters are exact, and stored results never change (seed ${SEED})`, async () => {
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: SETTINGS });
    cleanups.push(() => cluster.close());
    const run = await cluster.nodes[0].client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 64 });
    await underWay(cluster, run.runId);

    const seen: Settled = new Map();
    const schedule = await runFaults(cluster, run.runId, seen, SEED);
    const described = schedule.describe();
    const survivor = running(cluster)[0];
    const status = await cluster.waitForRun(survivor, run.runId);
    const results = await survivor.client.run(run.runId).itemResults();
    const outputs = expectEachItemSucceededOnce(status, results, ITEMS);
    // The stored attempt count is that of the call whose answer is the result.
    for (const [index, output] of outputs.entries()) expect(output.attempt, `${described}; item ${index}`).toBe(results[index].attempts);
    // Most of them.
    await expectEndedOnce(cluster, run.runId, seen, schedule, EVENTS - 2);
  }, 240_000);

  it(`cancelled from another node in the middle of the faults: every item ends once, succeeded or cancelled, and the counters add up (seed ${SEED + 1})`, async () => {
    const random = seeded(SEED + 1000);
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: SETTINGS });
    cleanups.push(() => cluster.close());
    const run = await cluster.nodes[0].client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 64 });
    await underWay(cluster, run.runId);

    const seen: Settled = new Map();
    let cancelledBy = '';
    const schedule = await runFaults(cluster, run.runId, seen, SEED + 1, async (event) => {
      if (event !== 1) return;
      // Any node but the one the run was submitted to, when it still runs.
      const others = running(cluster).filter((node) => node !== cluster.nodes[0]);
      const node = others[Math.floor(random() * others.length)];
      cancelledBy = node.name;
      await node.client.run(run.runId).cancel();
    });
    const described = `${schedule.describe()}; cancelled on ${cancelledBy} after the second`;
    const survivor = running(cluster)[0];
    const status = await cluster.waitForRun(survivor, run.runId);
    expect(status.status, described).toBe('cancelled');
    const results = await survivor.client.run(run.runId).itemResults();
    expect(results, described).toHaveLength(ITEMS);
    const byStatus = { success: 0, cancelled: 0 };
    for (const [index, item] of results.entries()) {
      expect(item.itemIndex).toBe(index);
      expect(['success', 'cancelled'], `${described}; item ${index}`).toContain(item.status);
      byStatus[item.status as 'success' | 'cancelled']++;
      const output = recordOutput(item);
      if (item.status === 'success') expect(output?.item, `${described}; item ${index}`).toBe(index);
    }
    // The cancel came while items were left: some never ran.
    expect(byStatus.cancelled, described).toBeGreaterThan(0);
    expect(status.items, described).toEqual({ total: ITEMS, pending: 0, running: 0, success: byStatus.success, failed: 0, cancelled: byStatus.cancelled });
    // The two before the cancel, at least.
    await expectEndedOnce(cluster, run.runId, seen, schedule, 2);
  }, 240_000);
});
