import type { ChunkLease } from '../runs/shared-work.js';

/** A lease as the database knows it: with the run's chunk size, which maps an item to its chunk. */
export interface HeldLease extends ChunkLease {
  readonly chunkSize: number;
}

/**
 * The chunks this node holds, by run: what its journal writes are fenced with and what its
 * heartbeat renews (docs/cluster.md).
 */
export class LeaseBook {
  private readonly byRun = new Map<string, Map<number, HeldLease>>();

  add(lease: HeldLease): void {
    let chunks = this.byRun.get(lease.runId);
    if (!chunks) this.byRun.set(lease.runId, (chunks = new Map()));
    chunks.set(lease.chunkIndex, lease);
  }

  /** Removes the lease if it is still the one held (a later claim of the same chunk is kept). */
  remove(lease: ChunkLease): void {
    const chunks = this.byRun.get(lease.runId);
    if (chunks?.get(lease.chunkIndex)?.epoch !== lease.epoch) return;
    chunks.delete(lease.chunkIndex);
    if (chunks.size === 0) this.byRun.delete(lease.runId);
  }

  /** The lease covering an item of a run, or undefined when none is held. */
  leaseOf(runId: string, itemIndex: number): HeldLease | undefined {
    const chunks = this.byRun.get(runId);
    if (!chunks) return undefined;
    for (const lease of chunks.values()) return chunks.get(Math.floor(itemIndex / lease.chunkSize));
    return undefined;
  }

  has(lease: ChunkLease): boolean {
    return this.byRun.get(lease.runId)?.get(lease.chunkIndex)?.epoch === lease.epoch;
  }

  all(): HeldLease[] {
    const out: HeldLease[] = [];
    for (const chunks of this.byRun.values()) out.push(...chunks.values());
    return out;
  }
}
