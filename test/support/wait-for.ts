/** Resolves after the current event-loop turn (I/O callbacks included). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface WaitForOptions {
  /** The bound: generous, since the machine running the suite may be slow. Default 20 s. */
  timeoutMs?: number;
  /** What is awaited, for the error when the bound passes. */
  what?: string;
}

/**
 * Checks `done()` every few milliseconds until it holds; rejects once `timeoutMs` passed. A bound
 * for waiting on events, never a measurement: tests assert on what happened, not on how fast.
 */
export async function waitFor(done: () => boolean, options: WaitForOptions = {}): Promise<void> {
  const { timeoutMs = 20_000, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Asks `probe` until it yields a value (not `undefined`), every 50 ms; rejects naming `what` once
 * `timeoutMs` passed. For conditions read over the network or from a database.
 */
export async function until<T>(probe: () => Promise<T | undefined>, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
