import type WebSocket from 'ws';
import { ErrorCodes, RpcError, WorkersDrain, WorkersRegister } from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { RpcPeer } from '../../rpc/peer.js';
import type { RuntimeApi } from '../../api/runtime-api.js';
import { ServerConnection } from '../stepflow/server-connection.js';
import { WebSocketChannel } from '../stepflow/websocket-channel.js';
import type { Worker, WorkerRegistration } from './worker.js';

/** What a session needs of its runtime: where the worker is registered, and the API its callbacks reach. */
export interface WorkerSessionHost {
  readonly runtimeApi: RuntimeApi;
  readonly logger: Logger;
  readonly pingIntervalMs: number;
  /** How long a connection may stay open without registering. */
  readonly registerTimeoutMs: number;
  /** The node the worker connects to, as `workers/register` answers. */
  readonly node: string;
  register(registration: WorkerRegistration, connection: ServerConnection): Worker;
  drain(worker: Worker): void;
  unregister(worker: Worker): void;
}

/**
 * Serves one worker's WebSocket (docs/workers.md): the worker calls `workers/register`, then the
 * runtime sends it `components/execute` on the same connection (a `ServerConnection`, as for a
 * stepflow server, without `initialize`) while the worker may call back `blobs/*` and `runs/*`.
 * `workers/drain` stops new calls. A connection that does not register in time is closed.
 */
export function serveWorkerSocket(socket: WebSocket, remote: string, host: WorkerSessionHost): void {
  const label = `worker at ${remote}`;
  const logger = host.logger.child({ worker: remote });
  const channel = new WebSocketChannel({ plugin: label, logger, pingIntervalMs: host.pingIntervalMs, label, details: { remote } }, socket);
  const peer = new RpcPeer(channel.reader, channel.writer, { name: label, logger });
  const connection = ServerConnection.adopt(channel, peer, { plugin: label, logger, runtimeApi: host.runtimeApi, initializeTimeoutMs: host.registerTimeoutMs });
  let worker: Worker | undefined;
  const unregistered = setTimeout(() => {
    logger.warn(`${label} did not call workers/register within ${host.registerTimeoutMs} ms; closing`);
    void connection.shutdown(0);
  }, host.registerTimeoutMs);
  unregistered.unref();

  peer.onRequest(WorkersRegister, (params) => {
    if (worker !== undefined) {
      throw new RpcError(ErrorCodes.Conflict, `this connection is already registered as ${worker.label}; open another to register again`, { workerId: worker.id });
    }
    clearTimeout(unregistered);
    worker = host.register(params, connection);
    logger.info({ workerId: worker.id, pool: worker.pool, capacity: worker.capacity }, `${worker.label} registered from ${remote}`);
    return { workerId: worker.id, node: host.node };
  });
  peer.onRequest(WorkersDrain, () => {
    if (worker === undefined) throw new RpcError(ErrorCodes.NotInitialized, 'call workers/register before workers/drain');
    host.drain(worker);
    logger.info({ workerId: worker.id, inFlight: worker.inFlight }, `${worker.label} is draining`);
    return { inFlight: worker.inFlight };
  });
  peer.onClose(() => {
    clearTimeout(unregistered);
    if (worker === undefined) return;
    host.unregister(worker);
    logger.info({ workerId: worker.id, inFlight: worker.inFlight }, `${worker.label} disconnected`);
  });
  peer.listen();
}
