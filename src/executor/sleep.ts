import { onAbort } from '../signals/abort-watch.js';

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared, so nothing lingers). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      subscription?.dispose();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const subscription = signal ? onAbort(signal, done) : undefined;
  });
}
