/** Items whose inputs a node keeps for the runs submitted to it, at most (oldest runs dropped first). */
export const SUBMITTED_ITEMS_KEPT = 1_000_000;

/**
 * The inputs of runs submitted to this node, kept while it may still claim their chunks for the
 * first time (docs/cluster.md, "What each node costs the database"). A chunk claimed at epoch 1 was
 * never held before, so its items are as the submit stored them: all pending, and their inputs are
 * these. Loading such a chunk then reads nothing back from the database. A chunk claimed again
 * (epoch 2 or more), or one of a run this node did not take, is read from the database as always.
 */
export class SubmittedInputs {
  private readonly byRun = new Map<string, readonly unknown[]>();
  private items = 0;

  constructor(private readonly maxItems = SUBMITTED_ITEMS_KEPT) {}

  /** Keeps a stored run's inputs, dropping the oldest runs' beyond the bound; a run larger than the bound is not kept. */
  remember(runId: string, inputs: readonly unknown[]): void {
    if (inputs.length > this.maxItems) return;
    this.forget(runId);
    this.byRun.set(runId, inputs);
    this.items += inputs.length;
    for (const [oldest, kept] of this.byRun) {
      if (this.items <= this.maxItems) break;
      this.byRun.delete(oldest);
      this.items -= kept.length;
    }
  }

  /** The inputs of items `first` (inclusive) to `end` of a run, if kept. */
  slice(runId: string, first: number, end: number): unknown[] | undefined {
    return this.byRun.get(runId)?.slice(first, end);
  }

  forget(runId: string): void {
    const kept = this.byRun.get(runId);
    if (kept === undefined) return;
    this.byRun.delete(runId);
    this.items -= kept.length;
  }

  get runs(): number {
    return this.byRun.size;
  }
}
