import { afterEach } from 'vitest';

/**
 * Registers an `afterEach` that runs, last first, what the test pushed on the returned list, then
 * `andThen` (for what every test of the file needs undone). Call once at a test file's top level.
 */
export function cleanupAfterEach(andThen?: () => unknown): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await andThen?.();
  });
  return cleanups;
}
