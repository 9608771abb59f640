/**
 * One `abort` listener per signal, however many items wait on it. A run's signal is shared by
 * thousands of concurrent items: a listener each would make every removal scan the signal's
 * listener list and trip Node's MaxListeners warning; a Set makes adding and removing O(1).
 */

/** Something told once when a signal aborts (an object, so registering allocates no closure). */
export interface AbortListener {
  aborted(): void;
}

const listenersBySignal = new WeakMap<AbortSignal, Set<AbortListener>>();

/** Tells `listener` once when `signal` aborts, until `unwatchAbort`. */
export function watchAbort(signal: AbortSignal, listener: AbortListener): void {
  let listeners = listenersBySignal.get(signal);
  if (listeners === undefined) {
    const created = new Set<AbortListener>();
    listeners = created;
    listenersBySignal.set(signal, created);
    signal.addEventListener('abort', () => {
      listenersBySignal.delete(signal);
      for (const l of created) l.aborted();
      created.clear();
    }, { once: true });
  }
  listeners.add(listener);
}

/** Stops telling `listener` about `signal`. */
export function unwatchAbort(signal: AbortSignal, listener: AbortListener): void {
  listenersBySignal.get(signal)?.delete(listener);
}

/** Calls `callback` once when `signal` aborts; returns a function that unregisters it. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  const listener: AbortListener = { aborted: callback };
  watchAbort(signal, listener);
  return () => unwatchAbort(signal, listener);
}
