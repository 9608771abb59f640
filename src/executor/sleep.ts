import { onAbort } from './abort-callbacks.js';

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared, so nothing lingers). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unregister?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unregister = signal ? onAbort(signal, done) : undefined;
  });
}
