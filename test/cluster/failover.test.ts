import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Status } from '../../protocol/index.js';
import { cleanupAfterEach } from '../support/cleanups.js';
import {
  CLUSTER_WAIT_MS,
  expectEachItemSucceededOnce,
  holdingWork,
  RECORD_FLOW,
  startClusterBackends,
  startTestCluster,
  type ChunkRow,
  type ClusterBackends,
  type ClusterNode,
  type ItemRow,
  type TestCluster,
} from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';
import { until } from '../support/wait-for.js';

/**
 * A node that dies (SIGKILL) or stops (SIGTERM) in the middle of a run: its chunks go to the
 * other nodes and the run finishes, each item settled once, finished results unchanged.
 */
const ITEMS = 3000;
/**
 * Items take a while and chunks are small, so that the run lasts several seconds and every node
 * holds chunks (a few at most each) with items in flight at any moment of it.
 */
const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i, delayMs: 600, log: true }));
const CHUNK_SIZE = 16;
const MAX_CONCURRENCY = 1000;

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

/**
 * Freezes `node` (SIGSTOP) once it holds open chunks of the run with at least 3 items stored as
 * running, and returns those chunks and the run's items as it left them; continues it and tries
 * again when it froze without.
 */
async function freezeWithRunningItems(cluster: TestCluster, node: ClusterNode, runId: string): Promise<{ held: ChunkRow[]; items: ItemRow[] }> {
  for (let attempt = 1; attempt <= 50; attempt++) {
    await cluster.pause(node);
    const held = (await cluster.chunks(runId)).filter((chunk) => chunk.holder === node.nodeId && chunk.state === 'open');
    const items = await cluster.items(runId);
    const running = items.filter((item) => item.status === 'running' && held.some((chunk) => item.item_index >= chunk.first_item && item.item_index < chunk.end_item));
    if (running.length >= 3) return { held, items };
    cluster.resume(node);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${node.name} never froze holding chunks of run ${runId} with 3 items stored as running`);
}

describe.skipIf(!postgresAvailable())('cluster: a node lost in the middle of a run', () => {
  it('SIGKILL: the others take its chunks after the lease, keep every stored result, and run its unfinished items again', async () => {
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: { chunkSize: CHUNK_SIZE } });
    cleanups.push(() => cluster.close());
    const [first, victim] = cluster.nodes;
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: MAX_CONCURRENCY });
    await holdingWork(cluster, victim, run.runId, 10);
    const before = new Map<number, string>();
    for (const item of await run.itemResults()) if (isTerminal(item.status)) before.set(item.itemIndex, JSON.stringify(item));
    expect(before.size).toBeGreaterThan(0);
    // Killed while its journal has items of its chunks stored as running (the journal writes in
    // batches). Checked while it is frozen, so nothing it writes after the check can change that.
    const { held: heldAtDeath, items: atDeath } = await freezeWithRunningItems(cluster, victim, run.runId);
    expect(await cluster.kill(victim, 'SIGKILL')).toBe(-1);
    // What the dead node left in the database is final: it will never write again.
    const settledAtDeath = new Set(atDeath.filter((item) => isTerminal(item.status as Status)).map((item) => item.item_index));
    const inHeld = (index: number) => heldAtDeath.some((chunk) => index >= chunk.first_item && index < chunk.end_item);
    const runningAtDeath = atDeath.filter((item) => item.status === 'running' && inHeld(item.item_index)).map((item) => item.item_index);

    const status = await cluster.waitForRun(first, run.runId);
    const results = await run.itemResults();
    const outputs = expectEachItemSucceededOnce(status, results, ITEMS);
    for (const [index, text] of before) expect(JSON.stringify(results[index]), `item ${index}`).toBe(text);

    // Items stored as running on the dead node ran again on a survivor, as attempt 2 or later.
    expect(runningAtDeath.length).toBeGreaterThan(0);
    for (const index of runningAtDeath) {
      expect(results[index].attempts, `item ${index}`).toBeGreaterThanOrEqual(2);
      expect(outputs[index].attempt, `item ${index}`).toBeGreaterThanOrEqual(2);
      expect(outputs[index].ppid, `item ${index}`).not.toBe(victim.pid);
    }
    // Items its server started whose end it did not store (their start may not have been stored either) ran again on a survivor.
    const startedByVictim = new Set(cluster.calls().filter((call) => call.event === 'start' && call.ppid === victim.pid && call.runId === run.runId).map((call) => call.item));
    for (const index of startedByVictim) if (!settledAtDeath.has(index)) expect(outputs[index].ppid, `item ${index}`).not.toBe(victim.pid);
    // Only items it settled before it died carry its results.
    for (const [index, output] of outputs.entries()) if (output.ppid === victim.pid) expect(settledAtDeath.has(index), `item ${index}`).toBe(true);
    expect((await cluster.chunks(run.runId)).filter((chunk) => chunk.state !== 'done')).toEqual([]);
  }, 150_000);

  it('SIGTERM: the node hands its chunks back as it stops, and the others take them long before its lease would expire', async () => {
    // A lease this long leaves only the hand-back to explain a prompt takeover.
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: { chunkSize: CHUNK_SIZE, leaseMs: 30_000, heartbeatMs: 300 } });
    cleanups.push(() => cluster.close());
    const [first, , victim] = cluster.nodes;
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: MAX_CONCURRENCY });
    await holdingWork(cluster, victim, run.runId, 10);

    expect(await cluster.stop(victim)).toBe(0);
    // Before it exited it let go of every chunk it held, and left the cluster.
    const afterExit = await cluster.chunks(run.runId);
    expect(afterExit.filter((chunk) => chunk.holder === victim.nodeId && chunk.state === 'open')).toEqual([]);
    expect(await cluster.sql('SELECT node_id FROM nodes WHERE node_id = $1', [victim.nodeId])).toEqual([]);
    // Chunks it had claimed and not finished: unheld now, or claimed again (the lease is far from expired).
    const returned = afterExit.filter((chunk) => chunk.state === 'open' && ((chunk.holder === null && chunk.epoch >= 1) || chunk.epoch >= 2));
    expect(returned.length).toBeGreaterThan(0);

    const survivors = new Set([cluster.nodes[0].nodeId, cluster.nodes[1].nodeId]);
    await until(
      async () => {
        const chunks = new Map((await cluster.chunks(run.runId)).map((chunk) => [chunk.chunk_index, chunk]));
        const takenOver = returned.every(({ chunk_index, epoch, holder }) => {
          const now = chunks.get(chunk_index)!;
          const claimedAgain = now.holder !== null && survivors.has(now.holder) && (now.epoch > epoch || holder !== null);
          return now.state === 'done' || claimedAgain;
        });
        return takenOver ? true : undefined;
      },
      { what: `the chunks ${victim.name} handed back taken by the other nodes`, timeoutMs: cluster.settings.leaseMs / 2 },
    );

    const status = await cluster.waitForRun(first, run.runId, CLUSTER_WAIT_MS);
    expectEachItemSucceededOnce(status, await run.itemResults(), ITEMS);
    expect((await cluster.chunks(run.runId)).filter((chunk) => chunk.state !== 'done')).toEqual([]);
  }, 150_000);
});

