import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { byteSize, delayMs } from '../options.js';
import { DEFAULT_PING_INTERVAL_MS } from '../transport/keep-alive.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/ndjson-reader.js';
import { closeWebSocket, wireWebSocket } from '../transport/websocket-connection.js';
import type { ComponentServer, ComponentServerConnection } from './component-server.js';

/** Options of `ComponentServer.serveWebSocket`. */
export interface ServeWebSocketOptions {
  /** Default 0: a free port, reported by the returned handle. */
  port?: number;
  /** Default `127.0.0.1`: reachable from this machine only. */
  host?: string;
  /** Accept upgrades on this path only (others get HTTP 400). Default: any path. */
  path?: string;
  /** Largest accepted frame in bytes; a bigger one closes its connection with 1009. Default: the server's `maxMessageBytes`, else 64 MiB. */
  maxMessageBytes?: number;
  /** Ping interval of the keep-alive; a runtime silent for 2 intervals is disconnected. Default 15 000. */
  pingIntervalMs?: number;
}

/** A component server listening for WebSocket connections. */
export interface WebSocketServing {
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** `ws://host:port/path` to put in a runtime's config. */
  readonly url: string;
  /** The runtime connections currently open. */
  readonly connections: ReadonlySet<ComponentServerConnection>;
  /** Stops listening and closes every connection (1001), terminating those that do not close within a second. */
  close(): Promise<void>;
}

/** How long `close()` lets connections finish their closing handshake before terminating them. */
const CLOSE_GRACE_MS = 1000;

/**
 * Serves `server` on a WebSocket endpoint (docs/protocol.md, "Wire format"): one JSON-RPC message per text frame, every
 * connection its own session (own peer, own in-flight calls) over the same components, each kept
 * alive by pings.
 */
export async function serveOverWebSocket(server: ComponentServer, options: ServeWebSocketOptions = {}): Promise<WebSocketServing> {
  const host = options.host ?? '127.0.0.1';
  const maxPayload = byteSize('maxMessageBytes', options.maxMessageBytes ?? server.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  const pingIntervalMs = delayMs('pingIntervalMs', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
  const wss = new WebSocketServer({
    host,
    port: options.port ?? 0,
    path: options.path,
    maxPayload,
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  // After listening, server-level errors are rare (e.g. EMFILE on accept): log, never crash.
  wss.on('error', (error) => server.logger.error({ err: error }, `${server.name}: WebSocket server error`));

  const connections = new Set<ComponentServerConnection>();
  const sockets = new Set<WebSocket>();
  wss.on('connection', (socket, request) => {
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    server.logger.debug({ remote }, `${server.name}: runtime connected`);
    sockets.add(socket);
    const { reader, writer } = wireWebSocket(socket, {
      logger: server.logger,
      name: server.name,
      pingIntervalMs,
      onDead: () => server.logger.warn({ remote }, `${server.name}: runtime stopped answering pings; disconnecting`),
      onClose: (code) => {
        sockets.delete(socket);
        connections.delete(connection);
        server.logger.debug({ remote, code }, `${server.name}: runtime disconnected`);
      },
    });
    const connection = server.serve(reader, writer);
    connections.add(connection);
  });

  const { port } = wss.address() as AddressInfo;
  const path = options.path ?? '/';
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`,
    connections,
    close: () => (closing ??= shutdown(wss, sockets)),
  };
}

async function shutdown(wss: WebSocketServer, sockets: Set<WebSocket>): Promise<void> {
  const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
  await Promise.all([...sockets].map((socket) => closeWebSocket(socket, 1001, 'component server shutting down', CLOSE_GRACE_MS)));
  await closed;
}
