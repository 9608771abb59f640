import type { WorkerPoolStats } from '../../api/worker-intake.js';
import type { Worker } from './worker.js';

/** A call waiting for a worker with room. */
interface Waiter {
  component: string;
  resolve(worker: Worker): void;
  /** Ends the wait without a worker. */
  giveUp(reason: NoWorkerReason): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Why a wait for a worker ended without one. */
export type NoWorkerReason = { kind: 'timeout'; waitedMs: number } | { kind: 'aborted' };

/**
 * The workers of one pool and the calls waiting for them (docs/workers.md, "Dispatch"): a call goes
 * to the least-loaded worker that registered its component and has room (fewest calls in flight,
 * then fewest calls started); when none has, it waits, first come first served, until one has room.
 */
export class WorkerPool {
  readonly workers = new Set<Worker>();
  private readonly waiters = new Set<Waiter>();
  private callsSucceeded = 0;
  private callsFailed = 0;

  constructor(readonly name: string) {}

  /** A worker for `component` now, or a promise of one; the wait ends after `waitMs` or when `signal` aborts. */
  acquire(component: string, signal: AbortSignal | undefined, waitMs: number, noWorker: (reason: NoWorkerReason) => Error): Worker | Promise<Worker> {
    if (signal?.aborted) return Promise.reject(noWorker({ kind: 'aborted' }));
    const worker = this.pick(component);
    if (worker !== undefined) return this.take(worker);
    return new Promise<Worker>((resolve, reject) => {
      const waiter: Waiter = { component, resolve, giveUp: undefined!, signal, onAbort: undefined, timer: undefined! };
      waiter.giveUp = (reason) => {
        this.forget(waiter);
        reject(noWorker(reason));
      };
      waiter.timer = setTimeout(() => waiter.giveUp({ kind: 'timeout', waitedMs: waitMs }), waitMs);
      if (signal !== undefined) {
        waiter.onAbort = () => waiter.giveUp({ kind: 'aborted' });
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
    });
  }

  /** A call dispatched by `acquire` ended; its worker has room again. */
  release(worker: Worker, succeeded: boolean): void {
    worker.inFlight--;
    if (succeeded) {
      worker.callsDone++;
      this.callsSucceeded++;
    } else {
      worker.callsFailed++;
      this.callsFailed++;
    }
    if (this.waiters.size > 0 && worker.hasRoom) this.serveWaiters(worker);
  }

  add(worker: Worker): void {
    this.workers.add(worker);
    this.serveWaiters(worker);
  }

  /** The worker is gone (its calls in flight fail with its connection, and are released). */
  remove(worker: Worker): void {
    this.workers.delete(worker);
  }

  /** Components some worker of the pool serves, by the first worker's spelling. */
  components(): Map<string, Worker['components'][number]> {
    const out = new Map<string, Worker['components'][number]>();
    for (const worker of this.workers) for (const info of worker.components) if (!out.has(info.component)) out.set(info.component, info);
    return out;
  }

  stats(): WorkerPoolStats {
    let draining = 0;
    for (const worker of this.workers) if (worker.draining) draining++;
    return { pool: this.name, workers: this.workers.size, draining, callsSucceeded: this.callsSucceeded, callsFailed: this.callsFailed };
  }

  /** The least-loaded worker with room that serves `component`. */
  private pick(component: string): Worker | undefined {
    let best: Worker | undefined;
    for (const worker of this.workers) {
      if (!worker.hasRoom || worker.spellingOf(component) === undefined) continue;
      if (best === undefined || worker.inFlight < best.inFlight || (worker.inFlight === best.inFlight && worker.started < best.started)) best = worker;
    }
    return best;
  }

  private take(worker: Worker): Worker {
    worker.inFlight++;
    worker.started++;
    return worker;
  }

  /** Gives `worker`'s room to the longest-waiting calls it serves (each gets the least-loaded worker then). */
  private serveWaiters(worker: Worker): void {
    for (const waiter of this.waiters) {
      if (!worker.hasRoom) return;
      // A cancel aborts calls in flight and waiting ones in turn: room freed by the first is not for the others.
      if (waiter.signal?.aborted) {
        waiter.giveUp({ kind: 'aborted' });
        continue;
      }
      if (worker.spellingOf(waiter.component) === undefined) continue;
      const chosen = this.pick(waiter.component)!;
      this.forget(waiter);
      waiter.resolve(this.take(chosen));
    }
  }

  private forget(waiter: Waiter): void {
    this.waiters.delete(waiter);
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  }
}
