import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../support/cleanups.js';
import {
  CLUSTER_WAIT_MS,
  expectEachItemSucceededOnce,
  holdingWork,
  RECORD_FLOW,
  RESULT_PPID_SQL,
  startClusterBackends,
  startTestCluster,
  type ChunkRow,
  type ClusterBackends,
  type ClusterNode,
  type TestCluster,
} from '../support/cluster.js';
import { startGate } from '../support/gate.js';
import { postgresAvailable } from '../support/postgres.js';
import { until, waitFor } from '../support/wait-for.js';

/**
 * A zombie: a node frozen (SIGSTOP) while it holds chunks, long enough for its leases to expire
 * and others to claim them, then continued. Whatever it finishes after that is fenced out: the
 * results that count are those it stored before it froze, and the items it was running then are
 * run again by the new holders.
 */
const ITEMS = 1500;
const inputs = Array.from({ length: ITEMS }, (_, i) => ({ i, delayMs: 200, log: true }));

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

/**
 * Freezes `node` while it holds open chunks of the run with items stored as running (tries again
 * if it froze between two, or before its journal stored a start); returns those chunks.
 */
async function freezeHolding(cluster: TestCluster, node: ClusterNode, runId: string): Promise<ChunkRow[]> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    await holdingWork(cluster, node, runId, 10);
    await cluster.pause(node);
    const held = (await cluster.chunks(runId)).filter((chunk) => chunk.holder === node.nodeId && chunk.state === 'open');
    const running = (await cluster.items(runId)).some(
      (item) => item.status === 'running' && held.some((chunk) => item.item_index >= chunk.first_item && item.item_index < chunk.end_item),
    );
    if (running) return held;
    cluster.resume(node);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${node.name} never froze holding a chunk of run ${runId} with items stored as running`);
}

describe.skipIf(!postgresAvailable())('cluster: a paused node whose leases expired', () => {
  it('cannot store results after its chunks were claimed by others, and logs that it lost the lease (-32013)', async () => {
    const cluster = await startTestCluster(backends!, { nodes: 3, settings: { chunkSize: 16 } });
    cleanups.push(() => cluster.close());
    const [first, , zombie] = cluster.nodes;
    const run = await first.client.submit({ flow: RECORD_FLOW, inputs, maxConcurrency: 1000 });
    const held = await freezeHolding(cluster, zombie, run.runId);
    const inLostChunks = (index: number) => held.some((chunk) => index >= chunk.first_item && index < chunk.end_item);
    const runningAtFreeze = (await cluster.items(run.runId)).filter((item) => item.status === 'running' && inLostChunks(item.item_index)).map((item) => item.item_index);

    // Its chunks are claimed by the others: a new holder at a higher epoch.
    await until(
      async () => {
        const chunks = new Map((await cluster.chunks(run.runId)).map((chunk) => [chunk.chunk_index, chunk]));
        const claimed = held.every(({ chunk_index, epoch }) => {
          const now = chunks.get(chunk_index)!;
          return now.state === 'done' || (now.holder !== null && now.holder !== zombie.nodeId && now.epoch > epoch);
        });
        return claimed ? true : undefined;
      },
      // Ten leases: generous for a claim, short of stalling the suite when the takeover never comes.
      { what: `the chunks of the frozen ${zombie.name} claimed by others`, timeoutMs: 10 * cluster.settings.leaseMs },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; sessions in a transaction: ${await cluster.sessionsInTransaction()}`, { cause: err });
    });
    // Frozen, it cannot write: what it stored so far is all it may ever have stored for good.
    const storedByZombie = new Map(
      (
        await cluster.sql<{ item_index: number; result: string }>(
          `SELECT item_index, result::text AS result FROM items WHERE run_id = $1 AND status = 'success' AND ${RESULT_PPID_SQL} = $2`,
          [run.runId, zombie.pid],
        )
      ).map((row) => [row.item_index, row.result]),
    );
    const continuedAt = Date.now();
    cluster.resume(zombie);

    const status = await cluster.waitForRun(first, run.runId);
    const results = await run.itemResults();
    const outputs = expectEachItemSucceededOnce(status, results, ITEMS);
    // It says so, naming among others a chunk it held when it froze (it may have claimed more just then).
    const lostLog = `-32013 lease lost: chunk (\\d+) of run ${run.runId}`;
    await waitFor(() => new RegExp(lostLog).test(zombie.served.stderr()), { what: `${zombie.name} logging its lost lease`, timeoutMs: CLUSTER_WAIT_MS });
    const named = [...zombie.served.stderr().matchAll(new RegExp(lostLog, 'g'))].map((match) => Number(match[1]));
    expect(named.some((index) => held.some((chunk) => chunk.chunk_index === index)), `chunks named: ${named.join(', ')}`).toBe(true);
    expect(zombie.served.child.exitCode).toBeNull();

    // In the chunks it lost, a result of the zombie is one it stored before it froze, unchanged, or
    // one of a call it started after it was continued (it may claim a chunk again, under a new epoch):
    // never the outcome of a call it had in flight when it froze.
    const finalText = new Map((await cluster.items(run.runId)).map((item) => [item.item_index, item.result_text]));
    const startedAfterContinue = new Set(
      cluster
        .calls()
        .filter((call) => call.event === 'start' && call.runId === run.runId && call.ppid === zombie.pid && call.at >= continuedAt)
        .map((call) => `${call.item}:${call.attempt}`),
    );
    for (const [index, output] of outputs.entries()) {
      if (!inLostChunks(index) || output.ppid !== zombie.pid) continue;
      if (storedByZombie.has(index)) expect(storedByZombie.get(index), `item ${index}`).toBe(finalText.get(index));
      else expect(startedAfterContinue.has(`${index}:${output.attempt}`), `item ${index}, attempt ${output.attempt}: a call started before the freeze`).toBe(true);
    }
    // The items of those chunks stored as running ran again, as attempt 2 or later.
    expect(runningAtFreeze.length).toBeGreaterThan(0);
    for (const index of runningAtFreeze) {
      // Elsewhere, or on the zombie itself under a claim it made after it was continued.
      if (outputs[index].ppid === zombie.pid) expect(startedAfterContinue.has(`${index}:${outputs[index].attempt}`), `item ${index}`).toBe(true);
      expect(results[index].attempts, `item ${index}`).toBeGreaterThanOrEqual(2);
    }
    // Those its server started before it was continued and whose end it had not stored (nor perhaps
    // their start) did not end with that call's result: another node's, or a later call of the zombie's.
    const startedFrozen = cluster
      .calls()
      .filter((call) => call.event === 'start' && call.runId === run.runId && call.ppid === zombie.pid && call.at < continuedAt && inLostChunks(call.item));
    for (const { item } of startedFrozen) {
      if (storedByZombie.has(item) || outputs[item].ppid !== zombie.pid) continue;
      expect(startedAfterContinue.has(`${item}:${outputs[item].attempt}`), `item ${item}: the result of a call started before the freeze`).toBe(true);
    }
  }, 150_000);

  it('drops its earlier holding when it claims a chunk back: the call in flight under the old lease is cancelled and its result never lands', async () => {
    // A slow heartbeat: the node hears of its lost lease by claiming the chunk back, not by renewing.
    const cluster = await startTestCluster(backends!, { nodes: 1, settings: { chunkSize: 4, leaseMs: 30_000, heartbeatMs: 10_000 } });
    cleanups.push(() => cluster.close());
    const gate = await startGate();
    cleanups.push(() => gate.close());
    const [node] = cluster.nodes;
    const run = await node.client.submit({ flow: RECORD_FLOW, inputs: [{ i: 0, gate: gate.url, log: true }] });
    await until(async () => ((await cluster.items(run.runId))[0].status === 'running' && gate.count() === 1 ? true : undefined), {
      what: 'item 0 running at the gate',
      timeoutMs: CLUSTER_WAIT_MS,
    });
    // Another node claims the chunk ahead (a new epoch), leaving it for a node with slots to spare:
    // this one takes it over while its first call still waits at the gate.
    const [before] = await cluster.chunks(run.runId);
    await cluster.sql(`UPDATE chunks SET holder = 'another-node', epoch = epoch + 1, prefetched = true, slots = 0 WHERE run_id = $1`, [run.runId]);
    await waitFor(() => new RegExp(`-32013 lease lost: chunk 0 of run ${run.runId} \\(epoch ${before.epoch}\\)`).test(node.served.stderr()), {
      what: 'the node logging its earlier holding lost',
      timeoutMs: CLUSTER_WAIT_MS,
    });
    const aborted = () => cluster.calls().some((call) => call.event === 'abort' && call.runId === run.runId && call.attempt === 1);
    await waitFor(aborted, { what: 'the call under the old lease cancelled', timeoutMs: CLUSTER_WAIT_MS });
    await gate.arrived(2);
    gate.release();
    const status = await cluster.waitForRun(node, run.runId);
    const [output] = expectEachItemSucceededOnce(status, await run.itemResults(), 1);
    expect(output.attempt).toBe(2);
    const [chunk] = await cluster.chunks(run.runId);
    expect(chunk.epoch).toBe(before.epoch + 2);
  }, 150_000);
});
