/**
 * Concurrent puts of one blob id in this process share one write: blobs are immutable, so the
 * second caller only has to wait for the first.
 */
export class WritesInFlight {
  readonly #writing = new Map<string, Promise<void>>();

  /** Runs `write` for `id` unless a write of `id` is already under way, and waits for it. */
  run(id: string, write: () => Promise<void>): Promise<void> {
    let pending = this.#writing.get(id);
    if (!pending) {
      pending = write().finally(() => this.#writing.delete(id));
      this.#writing.set(id, pending);
    }
    return pending;
  }
}
