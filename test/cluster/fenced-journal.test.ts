import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFenced } from '../../src/cluster/fenced-journal.js';
import { LeaseBook, type HeldLease } from '../../src/cluster/lease-book.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { postgresAvailable, postgresForFile } from '../support/postgres.js';

/**
 * A cluster node's journal batch (docs/cluster.md, "Fencing"): written only for the items of the
 * chunks the node still holds at the epoch it claimed them, whatever order the batch's transitions
 * of several runs and chunks come in; the chunks found lost are reported.
 */
const ITEMS = 8;
const CHUNK = 4;
const NODE = 'node-1';

const postgres = postgresForFile();
let store: PostgresStateStore;
let client: pg.Client;
beforeAll(async () => {
  if (!postgresAvailable()) return;
  ({ store, client } = await postgres.storeAndClient('fenced_journal'));
  for (const runId of ['run-a', 'run-b', 'run-c']) {
    await client.query(`INSERT INTO runs (run_id, flow_id, status, total, created_at, max_concurrency, variables) VALUES ($1, 'f', 'running', $2, 0, 8, '{}')`, [runId, ITEMS]);
    await client.query(`INSERT INTO items (run_id, item_index, status, attempts, input) SELECT $1, g, 'pending', 0, '{}'::json FROM generate_series(0, $2::integer - 1) g`, [runId, ITEMS]);
    // Both chunks held by this node at epoch 1.
    await client.query(
      `INSERT INTO chunks (run_id, chunk_index, run_seq, chunk_size, first_item, end_item, holder, epoch, lease_until)
       SELECT $1, g, 1, $2, g * $2, (g + 1) * $2, $3, 1, 9e15 FROM generate_series(0, 1) g`,
      [runId, CHUNK, NODE],
    );
  }
});

function lease(runId: string, chunkIndex: number, epoch = 1): HeldLease {
  return { runId, chunkIndex, first: chunkIndex * CHUNK, end: (chunkIndex + 1) * CHUNK, epoch, slots: 4, cancelRequested: false, chunkSize: CHUNK };
}

async function statuses(runId: string): Promise<string[]> {
  const { rows } = await client.query<{ status: string }>('SELECT status FROM items WHERE run_id = $1 ORDER BY item_index', [runId]);
  return rows.map((r) => r.status);
}

describe.skipIf(!postgresAvailable())('cluster: fenced journal writes', () => {
  it('writes the items of chunks held at their epochs, in any order of runs and chunks, and reports the chunks lost', async () => {
    const book = new LeaseBook();
    const lostA1 = lease('run-a', 1, 7); // another node claimed it since: the database has epoch 1, not 7
    for (const held of [lease('run-a', 0), lostA1, lease('run-b', 0)]) book.add(held);
    // run-b chunk 1 is not in the book (dropped already): its items are not written.
    const batch = new ItemTransitions();
    const order: Array<[string, number]> = [
      ['run-a', 0], ['run-b', 0], ['run-a', 1], ['run-a', 4], ['run-b', 5], ['run-b', 1], ['run-a', 2], ['run-a', 5], ['run-b', 4], ['run-a', 3],
    ];
    for (const [runId, index] of order) batch.settled(runId, index, 'success', 1, { outcome: 'success', value: index }, 1000 + index, index, 900, undefined);
    batch.started('run-a', 6, 1, 950);
    const lost = await store.statementsInOrder((c) => writeFenced(c, NODE, book, batch));
    expect(lost).toEqual([lostA1]);
    expect(await statuses('run-a')).toEqual(['success', 'success', 'success', 'success', 'pending', 'pending', 'pending', 'pending']);
    expect(await statuses('run-b')).toEqual(['success', 'success', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
  });

  it('drops transitions recorded under an earlier lease of a chunk claimed again, without hiding those of the new lease', async () => {
    // This node held chunk 0 of run-c at epoch 1, another node took it (epoch 2), and this node
    // claimed it back (epoch 3) while a call of item 0 under epoch 1 was still in flight.
    await client.query(`UPDATE chunks SET epoch = 3 WHERE run_id = 'run-c' AND chunk_index = 0`);
    const book = new LeaseBook();
    book.add(lease('run-c', 0, 3));
    const batch = new ItemTransitions();
    batch.started('run-c', 0, 2, 950, 3); // item 0 runs again under the new lease
    batch.settled('run-c', 0, 'success', 1, { outcome: 'success', value: 'stale' }, 1000, 1, 900, undefined, 1); // the old call ends
    batch.settled('run-c', 1, 'success', 1, { outcome: 'success', value: 'stale' }, 1001, 2, 900, undefined, 1);
    batch.settled('run-c', 2, 'success', 2, { outcome: 'success', value: 'fresh' }, 1002, 3, 960, undefined, 3);
    const lost = await store.statementsInOrder((c) => writeFenced(c, NODE, book, batch));
    expect(lost).toEqual([]);
    const { rows } = await client.query<{ status: string; attempts: number; value: unknown }>(
      `SELECT status, attempts, result->'value' AS value FROM items WHERE run_id = 'run-c' AND item_index < 3 ORDER BY item_index`,
    );
    expect(rows).toEqual([
      { status: 'running', attempts: 2, value: null },
      { status: 'pending', attempts: 0, value: null },
      { status: 'success', attempts: 2, value: 'fresh' },
    ]);
  });
});
