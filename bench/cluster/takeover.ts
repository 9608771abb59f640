/**
 * Case 3 of `--cluster` (bench/README.md): three nodes with a short lease run slow items; the bench
 * SIGKILLs a node that holds chunks of the run and times how long until another node claims one of
 * them. Without a `chunks` table (before the cluster shares work) there is nothing to take over.
 */
import pg from 'pg';
import { inputsOf } from '../lib/payloads.js';
import { expectAllSucceeded, startBenchCluster, waitTerminal, withClient, type BenchCluster } from './bench-cluster.js';
import { chunkTable, heldChunks, nodePids, runningItemsOf, waitForTakeover, type ChunkTable } from './chunk-holders.js';

/** `{ms}` → /bench/sleep → output: an item that takes `ms`. */
export const SLEEP_FLOW = {
  name: 'bench-sleep',
  steps: [{ id: 'sleep', component: '/bench/sleep', input: { $input: '$' } }],
  output: { $step: 'sleep' },
};

export interface TakeoverOptions {
  serverUrl: string;
  database: string;
  items: number;
  sleepMs: number;
  leaseMs: number;
  maxConcurrency: number;
}

export type TakeoverResult =
  | { measured: false; reason: string }
  | {
      measured: true;
      takeoverMs: number;
      killedNode: string;
      newHolder: string;
      chunkIndex: number;
      chunksOfKilled: number;
      /** Items recorded running in the killed node's chunks right after the kill (undefined: chunks carry no item range). */
      itemsRunningAtKill?: number;
      /** Items of the run that ended with `attempts > 1`. */
      itemsRunAgain: number;
    };

/** How often the table is read, while waiting for chunks to be held and for the takeover. */
const POLL_MS = 20;
/** A run whose chunks nobody holds by then is reported as a failure of the case. */
const HOLD_TIMEOUT_MS = 60_000;

export async function takeoverPass(o: TakeoverOptions): Promise<TakeoverResult> {
  const cluster = await startBenchCluster(o.serverUrl, o.database, 3, o.leaseMs);
  const db = new pg.Client({ connectionString: cluster.setup.stateUrl });
  await db.connect();
  try {
    const table = await chunkTable(db);
    if (table === undefined) return { measured: false, reason: 'n/a (no chunks table)' };
    return await killAndTime(o, cluster, db, table);
  } finally {
    await db.end();
    await cluster.close();
  }
}

async function killAndTime(o: TakeoverOptions, cluster: BenchCluster, db: pg.Client, table: ChunkTable): Promise<TakeoverResult> {
  const inputs = inputsOf('small', o.items).map(() => ({ ms: o.sleepMs }));
  const runId = await withClient(cluster.nodes[0].url, async (client) => (await client.submit({ flow: SLEEP_FLOW, inputs, maxConcurrency: o.maxConcurrency })).runId);
  const pids = await nodePids(db);
  const victim = await pollUntil(() => findVictim(db, table, runId, pids, cluster.nodes[0].pid));
  const victimNode = cluster.nodes.find((n) => n.pid === pids.get(victim));
  if (!victimNode) throw new Error(`node ${victim} holds chunks of run ${runId} but is not one of the bench's nodes`);
  const killedAt = performance.now();
  await victimNode.kill();
  // Read after the kill: what a dead node holds no longer changes (it may have finished chunks in between).
  const chunks = (await heldChunks(db, table, runId)).filter((c) => c.holder === victim).map((c) => c.chunkIndex);
  if (chunks.length === 0) throw new Error(`killed node ${victim} held no open chunk of run ${runId}: make the run longer`);
  const itemsRunningAtKill = await runningItemsOf(db, table, runId, victim);
  const takeover = await waitForTakeover(db, table, runId, victim, chunks, { pollMs: POLL_MS, timeoutMs: o.leaseMs * 3 + 30_000 });
  const takeoverMs = performance.now() - killedAt;
  const survivor = cluster.nodes.find((n) => n !== victimNode)!;
  const status = await withClient(survivor.url, async (client) => (await waitTerminal(client.run(runId))).status);
  expectAllSucceeded(status, o.items);
  const again = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM items WHERE run_id = $1 AND attempts > 1', [runId]);
  return { measured: true, takeoverMs, killedNode: victim, newHolder: takeover.newHolder, chunkIndex: takeover.chunkIndex, chunksOfKilled: chunks.length, itemsRunningAtKill, itemsRunAgain: Number(again.rows[0].n) };
}

/**
 * The victim: a node with items of the run recorded running (so the takeover has work to redo),
 * preferably not node 1, whose client submitted the run. Undefined while there is none yet.
 */
async function findVictim(db: pg.Client, table: ChunkTable, runId: string, pids: Map<string, number>, firstPid: number): Promise<string | undefined> {
  const holders = [...new Set((await heldChunks(db, table, runId)).filter((c) => c.slots > 0).map((c) => c.holder))];
  holders.sort((a, b) => Number(pids.get(a) === firstPid) - Number(pids.get(b) === firstPid));
  for (const holder of holders) {
    if (((await runningItemsOf(db, table, runId, holder)) ?? 1) > 0) return holder;
  }
  return undefined;
}

/** Reads until `read` gives a value, every POLL_MS, for at most HOLD_TIMEOUT_MS. */
async function pollUntil<T>(read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + HOLD_TIMEOUT_MS;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`no node had items of the run recorded running within ${HOLD_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
