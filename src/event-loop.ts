/**
 * Work on many items (storing a million inputs, cancelling a run's pending items) goes in slices
 * of this many, with a turn of the event loop between them, so other connections keep being
 * answered (docs/limits.md).
 */
export const ITEMS_PER_SLICE = 10_000;

/** Resolves after one turn of the event loop: timers and I/O waiting now run first. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
