import type pg from 'pg';
import { collapseItemUpdates } from '../statestore/collapse-item-updates.js';
import type { ItemTransitions } from '../statestore/item-transitions.js';
import { jsonArrayChunks } from '../statestore/postgres-state-store.js';
import { jsonText } from '../statestore/sql-rows.js';
import { FENCE_CHUNKS, UPDATE_ITEMS } from './chunks-sql.js';
import type { HeldLease, LeaseBook } from './lease-book.js';

/**
 * Writes a journal batch of a cluster node (docs/cluster.md, "Fencing"): in one transaction, the
 * chunks of its items are share-locked if this node still holds them at the epoch it claimed them,
 * and only their items are written. Returns the leases found lost: their transitions were dropped.
 * Items of no lease held (dropped already) are not written either.
 */
export async function writeFenced(client: pg.ClientBase, nodeId: string, book: LeaseBook, transitions: ItemTransitions): Promise<HeldLease[]> {
  const updates = collapseItemUpdates(transitions.toUpdates());
  const leaseOf = updates.map((u) => book.leaseOf(u.runId, u.itemIndex));
  const wanted = [...new Set(leaseOf.filter((l) => l !== undefined))];
  if (wanted.length === 0) return [];
  const { rows } = await client.query<{ run_id: string; chunk_index: number }>(FENCE_CHUNKS, [
    wanted.map((l) => l.runId),
    wanted.map((l) => l.chunkIndex),
    wanted.map((l) => l.epoch),
    nodeId,
  ]);
  const held = new Set(rows.map((r) => `${r.chunk_index}:${r.run_id}`));
  const valid = new Set(wanted.filter((l) => held.has(`${l.chunkIndex}:${l.runId}`)));
  const texts: string[] = [];
  updates.forEach((u, k) => {
    const lease = leaseOf[k];
    if (lease === undefined || !valid.has(lease)) return;
    texts.push(
      jsonText({
        run_id: u.runId,
        item_index: u.itemIndex,
        status: u.status,
        attempts: u.attempts,
        settled: u.settled !== undefined,
        // An absent key reads as SQL NULL; a JSON null would read as the json value `null`.
        result: u.settled?.result,
        completed_at: u.settled?.completedAt,
      }),
    );
  });
  for (const { json } of jsonArrayChunks(texts)) await client.query(UPDATE_ITEMS, [json]);
  return wanted.filter((l) => !valid.has(l));
}
