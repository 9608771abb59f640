import type WebSocket from 'ws';
import type { WorkerInfo } from '../../protocol/index.js';

/** What `GET /metrics` reports of one worker pool (docs/serve.md, "Metrics"). */
export interface WorkerPoolStats {
  pool: string;
  /** Workers connected and registered, draining ones included. */
  workers: number;
  draining: number;
  /** Calls the pool's workers answered with an output, since this process started. */
  callsSucceeded: number;
  /** Calls that failed: an error answer, a timeout, a cancel, a lost connection. */
  callsFailed: number;
}

/**
 * Where `flowrun serve` hands the WebSockets of workers that dial in at `/workers`
 * (docs/workers.md), and what it asks of them for `workers/list` and `GET /metrics`.
 */
export interface WorkerIntake {
  /** Takes over an accepted socket: the worker registers on it, then serves calls. `remote` is its address. */
  accept(socket: WebSocket, remote: string): void;
  /** The workers connected to this process, oldest first. */
  list(): WorkerInfo[];
  /** Every pool that has had a worker or a plugin, by name. */
  poolStats(): WorkerPoolStats[];
}
