import { IntrusiveList } from './intrusive-list.js';

/**
 * Something waiting on an `AbortSignal`. Its links live in itself, so starting and stopping a wait
 * allocate nothing (the hot path waits once per component call).
 */
export interface AbortWaiter {
  /** The watch it waits in; set by {@link watchAbort}, cleared when it leaves or is told. */
  abortWatch: AbortWatch | undefined;
  prev: AbortWaiter | undefined;
  next: AbortWaiter | undefined;
  /** Told once, when the signal aborts while it waits. */
  aborted(reason: unknown): void;
}

/**
 * One 'abort' listener per signal, shared by every waiter on it. A run's signal rides on thousands
 * of items and calls at once: a listener each would trip Node's MaxListenersExceededWarning and
 * make every removal walk the signal's listener list.
 */
class AbortWatch {
  private readonly waiters = new IntrusiveList<AbortWaiter>();
  /** Set once the listener is gone (the last waiter left, or the signal aborted). */
  ended = false;

  constructor(readonly signal: AbortSignal) {}

  add(waiter: AbortWaiter): void {
    waiter.abortWatch = this;
    this.waiters.add(waiter);
  }

  /** A waiter stops waiting; the last one out removes the listener. */
  remove(waiter: AbortWaiter): void {
    this.waiters.remove(waiter);
    waiter.abortWatch = undefined;
    if (this.waiters.isEmpty && !this.ended) {
      this.end();
      this.signal.removeEventListener('abort', this);
    }
  }

  /** The signal's 'abort' listener (EventTarget calls `handleEvent` on listener objects): tells the waiters oldest first. */
  handleEvent(): void {
    this.end();
    const waiters = this.waiters.takeAll(); // newest first
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      waiter.abortWatch = undefined;
      waiter.aborted(this.signal.reason);
    }
  }

  private end(): void {
    this.ended = true;
    if (watches.get(this.signal) === this) watches.delete(this.signal);
    // An ended watch must not keep its signal alive through the cache.
    if (lastWatch === this) lastWatch = undefined;
  }
}

const watches = new Map<AbortSignal, AbortWatch>();
/** The watch used last: consecutive waits mostly carry the same (run's) signal. */
let lastWatch: AbortWatch | undefined;

/**
 * Tells `waiter.aborted(reason)` once when `signal` aborts, unless it leaves first; waiters are told
 * in the order they began to wait. `signal` must not have aborted yet.
 */
export function watchAbort(signal: AbortSignal, waiter: AbortWaiter): void {
  let watch = lastWatch;
  if (watch === undefined || watch.signal !== signal || watch.ended) {
    watch = watches.get(signal);
    if (watch === undefined) {
      watch = new AbortWatch(signal);
      watches.set(signal, watch);
      signal.addEventListener('abort', watch, { once: true });
    }
    lastWatch = watch;
  }
  watch.add(waiter);
}

/** Stops `waiter` waiting; a waiter that is not waiting is left alone. */
export function unwatchAbort(waiter: AbortWaiter): void {
  waiter.abortWatch?.remove(waiter);
}

/** Calls `callback` once when `signal` (not yet aborted) aborts, until the returned disposable is disposed. */
export function onAbort(signal: AbortSignal, callback: (reason: unknown) => void): { dispose(): void } {
  const waiter: AbortWaiter & { dispose(): void } = {
    abortWatch: undefined,
    prev: undefined,
    next: undefined,
    aborted: callback,
    dispose: () => unwatchAbort(waiter),
  };
  watchAbort(signal, waiter);
  return waiter;
}
