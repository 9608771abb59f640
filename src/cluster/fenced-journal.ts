import type pg from 'pg';
import { ItemTransitions } from '../statestore/item-transitions.js';
import { itemRowTexts, jsonArrayChunks } from '../statestore/postgres-state-store.js';
import { WRITE_FENCED } from './chunks-sql.js';
import type { HeldLease, LeaseBook } from './lease-book.js';
import { prepared } from '../statestore/prepared-statement.js';

/**
 * Writes a journal batch of a cluster node (docs/cluster.md, "Fencing"): each statement
 * share-locks the chunks of its items that this node still holds at the epoch it claimed them, and
 * writes only the items inside those. Returns the leases found lost: their transitions were
 * dropped. Items of no lease held (dropped already) are not written either, nor transitions
 * recorded under an earlier lease of a chunk this node has claimed again since (a call it had in
 * flight under the old lease must not land under the new one).
 */
export async function writeFenced(client: pg.ClientBase, nodeId: string, book: LeaseBook, transitions: ItemTransitions): Promise<HeldLease[]> {
  const leaseAt = leaseLookup(book);
  const wanted = new Set<HeldLease>();
  const { runIds, indices, fences } = transitions;
  let stale = false;
  for (let k = 0; k < transitions.length; k++) {
    const lease = leaseAt(runIds[k], indices[k]);
    if (lease === undefined) continue;
    if (isCurrent(lease, fences[k])) wanted.add(lease);
    else stale = true;
  }
  if (wanted.size === 0) return [];
  const leases = [...wanted];
  const batch = stale ? withoutStale(transitions, leaseAt) : transitions;
  // Every lease found is wanted: an item is written when it has one.
  const texts = itemRowTexts(batch, (runId, itemIndex) => leaseAt(runId, itemIndex) !== undefined);
  const fence = [leases.map((l) => l.runId), leases.map((l) => l.chunkIndex), leases.map((l) => l.epoch), nodeId];
  const held = new Set<string>();
  let first = true;
  for (const { json } of jsonArrayChunks(texts)) {
    const { rows } = await client.query<{ run_id: string; chunk_index: number }>(prepared(WRITE_FENCED), [...fence, json]);
    // A lease lost between two statements of one batch counts as lost for the whole batch.
    const now = new Set(rows.map((r) => `${r.chunk_index}:${r.run_id}`));
    if (first) for (const key of now) held.add(key);
    else for (const key of [...held]) if (!now.has(key)) held.delete(key);
    first = false;
  }
  return leases.filter((l) => !held.has(`${l.chunkIndex}:${l.runId}`));
}

/** Whether a transition tagged `fence` was recorded under `lease` (0: by a journal outside any chunk). */
function isCurrent(lease: HeldLease, fence: number): boolean {
  return fence === 0 || fence === lease.epoch;
}

/**
 * The batch without its stale transitions. Dropped before the rows are built: a stale settle must
 * not hide the start of the item's new attempt that precedes it in the batch.
 */
function withoutStale(transitions: ItemTransitions, leaseAt: (runId: string, itemIndex: number) => HeldLease | undefined): ItemTransitions {
  const fresh = new ItemTransitions();
  const { runIds, indices, fences } = transitions;
  for (let k = 0; k < transitions.length; k++) {
    const lease = leaseAt(runIds[k], indices[k]);
    if (lease !== undefined && isCurrent(lease, fences[k])) fresh.append(transitions, k);
  }
  return fresh;
}

/**
 * `book.leaseOf` for one batch, whose transitions come mostly chunk by chunk: the last lease found
 * answers while the items fall inside it (a profile showed the lookups costing ≈5 µs an item).
 */
function leaseLookup(book: LeaseBook): (runId: string, itemIndex: number) => HeldLease | undefined {
  let last: HeldLease | undefined;
  return (runId, itemIndex) => {
    if (last !== undefined && itemIndex >= last.first && itemIndex < last.end && last.runId === runId) return last;
    const lease = book.leaseOf(runId, itemIndex);
    if (lease !== undefined) last = lease;
    return lease;
  };
}
