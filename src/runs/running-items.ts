import type { RunningItem } from '../executor/item-executor.js';

/**
 * The items of a run still executing, for cancelling them all: an array in which each item
 * knows its slot, so adding and removing cost no hashing (twice per item on the hot path).
 */
export class RunningItems {
  private readonly items: RunningItem[] = [];

  add(item: RunningItem): void {
    item.slot = this.items.length;
    this.items.push(item);
  }

  remove(item: RunningItem): void {
    const slot = item.slot;
    if (slot < 0 || this.items[slot] !== item) return;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[slot] = last;
      last.slot = slot;
    }
    item.slot = -1;
  }

  /** Aborts every running item; each is removed as it settles (its outcome goes to the sink). */
  abortAll(): void {
    for (const item of [...this.items]) item.aborted();
  }
}
