import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import type { WorkerInfo } from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { delayMs } from '../../options.js';
import type { RuntimeApi } from '../../api/runtime-api.js';
import type { WorkerIntake, WorkerPoolStats } from '../../api/worker-intake.js';
import { DEFAULT_PING_INTERVAL_MS } from '../../transport/keep-alive.js';
import type { ServerConnection } from '../stepflow/server-connection.js';
import { Worker, type WorkerRegistration } from './worker.js';
import { WorkerPool } from './worker-pool.js';
import { serveWorkerSocket, type WorkerSessionHost } from './worker-session.js';

/** Options of {@link WorkerRegistry}. */
export interface WorkerRegistryOptions {
  /** What workers' callbacks (`blobs/*`, `runs/*`) reach. */
  runtimeApi: RuntimeApi;
  logger: Logger;
  /** This process's node id, reported to workers and in listings. */
  node: string;
  /** Keep-alive ping interval of worker connections; a worker silent for 2 intervals is dropped. Default 15 000. */
  pingIntervalMs?: number;
  /** How long a new connection may take to call `workers/register` before it is closed. Default 10 000. */
  registerTimeoutMs?: number;
}

const DEFAULT_REGISTER_TIMEOUT_MS = 10_000;

/**
 * The workers connected to this runtime, by pool (docs/workers.md): `flowrun serve` hands it the
 * sockets of `/workers`, `type: workers` plugins dispatch calls through its pools.
 */
export class WorkerRegistry implements WorkerIntake, WorkerSessionHost {
  readonly runtimeApi: RuntimeApi;
  readonly logger: Logger;
  readonly node: string;
  readonly pingIntervalMs: number;
  readonly registerTimeoutMs: number;
  private readonly pools = new Map<string, WorkerPool>();
  /** Finds the worker of a failed call's connection, even after it left its pool. */
  private readonly byConnection = new WeakMap<ServerConnection, Worker>();
  private closed = false;

  constructor(options: WorkerRegistryOptions) {
    this.runtimeApi = options.runtimeApi;
    this.logger = options.logger;
    this.node = options.node;
    this.pingIntervalMs = delayMs('pingIntervalMs', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
    this.registerTimeoutMs = delayMs('registerTimeoutMs', options.registerTimeoutMs, DEFAULT_REGISTER_TIMEOUT_MS);
  }

  /** The pool named `name`, made empty on first mention. */
  pool(name: string): WorkerPool {
    let pool = this.pools.get(name);
    if (pool === undefined) {
      pool = new WorkerPool(name);
      this.pools.set(name, pool);
    }
    return pool;
  }

  accept(socket: WebSocket, remote: string): void {
    if (this.closed) {
      socket.close(1001, 'runtime shutting down');
      return;
    }
    serveWorkerSocket(socket, remote, this);
  }

  register(registration: WorkerRegistration, connection: ServerConnection): Worker {
    const worker = new Worker(`w-${randomUUID().slice(0, 12)}`, registration, connection, this.node);
    this.byConnection.set(connection, worker);
    const pool = this.pool(worker.pool);
    connection.onCallEnded = (answered) => pool.release(worker, answered);
    pool.add(worker);
    return worker;
  }

  drain(worker: Worker): void {
    worker.draining = true;
  }

  unregister(worker: Worker): void {
    this.pools.get(worker.pool)?.remove(worker);
  }

  workerOf(connection: ServerConnection): Worker | undefined {
    return this.byConnection.get(connection);
  }

  /**
   * True when every pool named has a worker connected here that is not draining: in a cluster a
   * node is to claim chunks of a run only then (docs/cluster.md).
   */
  hasWorkersFor(pools: Iterable<string>): boolean {
    for (const name of pools) {
      const pool = this.pools.get(name);
      if (pool === undefined || ![...pool.workers].some((worker) => !worker.draining)) return false;
    }
    return true;
  }

  list(): WorkerInfo[] {
    const workers = [...this.pools.values()].flatMap((pool) => [...pool.workers]);
    return workers.sort((a, b) => a.connectedAt.getTime() - b.connectedAt.getTime()).map((worker) => worker.info());
  }

  poolStats(): WorkerPoolStats[] {
    return [...this.pools.values()].map((pool) => pool.stats()).sort((a, b) => a.pool.localeCompare(b.pool));
  }

  /** Closes every worker connection (1001); workers reconnect to the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.pools.values()].flatMap((pool) => [...pool.workers]);
    await Promise.allSettled(workers.map((worker) => worker.connection.shutdown(1000)));
  }
}
