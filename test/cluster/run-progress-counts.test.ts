import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunProgressCounts } from '../../src/cluster/run-progress-counts.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { postgresAvailable, postgresForFile } from '../support/postgres.js';

/**
 * A cluster run's progress counters (docs/cluster.md, "What each node costs the database"): read
 * from the database for every node's items, with done chunks counted once and remembered and
 * chunks never claimed counted as pending without reading their items. The counters must equal a
 * plain count of the item rows whatever the chunks' states.
 */
const ITEMS = 10;
const CHUNK = 4; // chunks 0..2: [0,4) [4,8) [8,10)

const postgres = postgresForFile();
let store: PostgresStateStore;
let client: pg.Client;
beforeAll(async () => {
  if (postgresAvailable()) ({ store, client } = await postgres.storeAndClient('progress_counts'));
});

async function createRun(runId: string): Promise<void> {
  await client.query(
    `INSERT INTO runs (run_id, flow_id, status, total, created_at, max_concurrency, variables) VALUES ($1, 'f', 'running', $2, 0, 8, '{}')`,
    [runId, ITEMS],
  );
  await client.query(`INSERT INTO items (run_id, item_index, status, attempts, input) SELECT $1, g, 'pending', 0, '{}'::json FROM generate_series(0, $2::integer - 1) g`, [runId, ITEMS]);
  await client.query(
    `INSERT INTO chunks (run_id, chunk_index, run_seq, chunk_size, first_item, end_item)
     SELECT $1, g, 1, $2, g * $2, least((g + 1) * $2, $3) FROM generate_series(0, ($3::integer - 1) / $2::integer) g`,
    [runId, CHUNK, ITEMS],
  );
}

async function setItems(runId: string, from: number, to: number, status: string): Promise<void> {
  await client.query('UPDATE items SET status = $4 WHERE run_id = $1 AND item_index >= $2 AND item_index < $3', [runId, from, to, status]);
}

async function claim(runId: string, chunk: number): Promise<void> {
  await client.query(`UPDATE chunks SET holder = 'n1', epoch = epoch + 1 WHERE run_id = $1 AND chunk_index = $2`, [runId, chunk]);
}

async function complete(runId: string, chunk: number): Promise<void> {
  await client.query(`UPDATE chunks SET holder = NULL, state = 'done' WHERE run_id = $1 AND chunk_index = $2`, [runId, chunk]);
}

/** The counters by a plain count of the item rows. */
async function plainCounts(runId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = { total: ITEMS, pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 };
  const { rows } = await client.query<{ status: string; n: number }>('SELECT status, count(*)::integer AS n FROM items WHERE run_id = $1 GROUP BY status', [runId]);
  for (const { status, n } of rows) counts[status] = n;
  return counts;
}

describe.skipIf(!postgresAvailable())('cluster: run progress counters', () => {
  it('equal a plain count of the items through claims, settles, completions and the finish', async () => {
    const counter = new RunProgressCounts(store);
    const runId = 'run-a';
    await createRun(runId);
    const expectPlain = async () => expect((await counter.read(runId))?.counts).toEqual(await plainCounts(runId));
    await expectPlain();
    await claim(runId, 0);
    await claim(runId, 1);
    await setItems(runId, 0, 3, 'running');
    await setItems(runId, 4, 5, 'running');
    await expectPlain();
    await setItems(runId, 0, 2, 'success');
    await setItems(runId, 2, 4, 'failed');
    await complete(runId, 0);
    await expectPlain();
    // Read again with chunk 0 remembered: the same counters.
    await expectPlain();
    await setItems(runId, 4, 8, 'success');
    await complete(runId, 1);
    // A chunk taken back by a cancel: done with its items cancelled, in one transaction.
    await client.query(`UPDATE chunks SET state = 'done', epoch = epoch + 1 WHERE run_id = $1 AND chunk_index = 2`, [runId]);
    await setItems(runId, 8, 10, 'cancelled');
    await expectPlain();
    await client.query(`UPDATE runs SET status = 'cancelled', completed_at = 42 WHERE run_id = $1`, [runId]);
    expect(await counter.read(runId)).toEqual({ counts: await plainCounts(runId), completedAt: 42, status: 'cancelled' });
  });

  it('counts a done chunk once, even when reads overlap, and does not read it again', async () => {
    const counter = new RunProgressCounts(store);
    const runId = 'run-b';
    await createRun(runId);
    await claim(runId, 0);
    await setItems(runId, 0, 4, 'success');
    await complete(runId, 0);
    const reads = await Promise.all([counter.read(runId), counter.read(runId), counter.read(runId)]);
    for (const read of reads) expect(read?.counts).toEqual(await plainCounts(runId));
    expect((await counter.read(runId))?.counts).toEqual(await plainCounts(runId));
    // Rows of a done chunk never change in a cluster; changed behind its back, the remembered count shows it was not read again.
    await setItems(runId, 0, 1, 'failed');
    expect((await counter.read(runId))?.counts).toMatchObject({ success: 4, failed: 0, pending: 6 });
    // A fresh reader reads it.
    expect((await new RunProgressCounts(store).read(runId))?.counts).toMatchObject({ success: 3, failed: 1, pending: 6 });
  });

  it("takes a done chunk's counts from its row when the node that completed it stored them, and counts the items of one without", async () => {
    const runId = 'run-c';
    await createRun(runId);
    await claim(runId, 0);
    await claim(runId, 1);
    await setItems(runId, 0, 8, 'success');
    await complete(runId, 0);
    await complete(runId, 1);
    // Stored counts unlike the rows: which the read took shows where it looked.
    await client.query(`UPDATE chunks SET done_success = 1, done_failed = 2, done_cancelled = 1 WHERE run_id = $1 AND chunk_index = 0`, [runId]);
    expect((await new RunProgressCounts(store).read(runId))?.counts).toEqual({ total: ITEMS, pending: 2, running: 0, success: 5, failed: 2, cancelled: 1 });
  });

  it('answers undefined for an unknown run', async () => {
    expect(await new RunProgressCounts(store).read('no-such-run')).toBeUndefined();
  });
});
