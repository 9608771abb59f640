/**
 * One `abort` listener per signal, however many items wait on it. A run's signal is shared by
 * thousands of concurrent items: a listener each would make every removal scan the signal's
 * listener list and trip Node's MaxListeners warning; a Set makes adding and removing O(1).
 */
const callbacksBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` once when `signal` aborts; returns a function that unregisters it. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = callbacksBySignal.get(signal);
  if (callbacks === undefined) {
    const created = new Set<() => void>();
    callbacks = created;
    callbacksBySignal.set(signal, created);
    signal.addEventListener('abort', () => {
      callbacksBySignal.delete(signal);
      for (const cb of created) cb();
      created.clear();
    }, { once: true });
  }
  const registered = callbacks;
  registered.add(callback);
  return () => {
    registered.delete(callback);
  };
}
