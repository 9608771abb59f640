import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { FlowrunError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { RpcPeer } from '../rpc/peer.js';
import { byteSize, delayMs, integerIn, positiveInt } from '../options.js';
import { DEFAULT_PING_INTERVAL_MS } from '../transport/keep-alive.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/ndjson-reader.js';
import { closeWebSocket, wireWebSocket, type WebSocketConnection } from '../transport/websocket-connection.js';
import { DASHBOARD_SUBPROTOCOL, subprotocolBearerOf, UNAUTHORIZED_MESSAGE } from './bearer-token.js';
import { ANONYMOUS_ADMIN, TokenDirectory } from './token-directory.js';
import { roleAtLeast, type Principal } from '../api/access.js';
import { auditLogger } from '../api/audit.js';
import type { AuthTokenConfig } from '../config/types.js';
import { answerMetrics } from './metrics-route.js';
import type { RuntimeMetrics } from '../api/runtime-metrics.js';
import { refuseUpgrade, replyJson } from './http-replies.js';
import { isLoopbackHost } from './loopback.js';
import { OriginPolicy } from './origin-policy.js';
import { packageVersion } from './package-version.js';
import type { RuntimeApi } from '../api/runtime-api.js';
import { registerRuntimeHandlers } from '../api/runtime-handlers.js';
import { replyParseError, replyToUnaddressableMessages } from './unaddressable-replies.js';
import type { NodeDirectory } from '../cluster/index.js';
import { nodeHealth, registerNodesHandler } from './nodes-handler.js';
import type { WorkerIntake } from '../api/worker-intake.js';
import { registerWorkersHandler } from './workers-handler.js';
import { registerWatchHandlers, type RunWatches } from '../api/run-watches.js';
import { answerEvents } from './events-route.js';
import { DashboardFiles } from './dashboard-route.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7837;
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** Where run events are served as server-sent events (docs/events.md). */
export const EVENTS_PATH = '/events';
/** Who the caller's token is (docs/dashboard.md): what the dashboard shows in its header. */
export const WHOAMI_PATH = '/whoami';
/** Where workers dial in. */
export const WORKERS_PATH = '/workers';
/** Time a closing server gives its clients to answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 2000;

/** Options of {@link startRuntimeServer}. */
export interface RuntimeServerOptions {
  /**
   * What is served: its `service` answers `blobs/*` and `runs/*` (docs/protocol.md); `metrics` feed
   * `GET /metrics`; `workers` takes the workers that dial in at `/workers` (docs/workers.md).
   */
  runtime: {
    readonly service: RuntimeApi; readonly nodes?: NodeDirectory; readonly metrics?: RuntimeMetrics; readonly workers?: WorkerIntake;
    /** Serves `runs/watch` and `GET /events` (docs/events.md). */
    readonly watches?: RunWatches;
  };
  /** Interface to bind. Default `127.0.0.1`; anything but loopback requires `token`. */
  host?: string;
  /** Default 7837; 0 picks a free port (see `port` of the result). */
  port?: number;
  /** When set, every WebSocket upgrade must carry `Authorization: Bearer <token>`: an admin of namespace `default`. */
  token?: string;
  /**
   * Named tokens with a namespace and a role (config `auth.tokens`, docs/security.md), besides
   * `token`. With any token known, every connection and `GET /metrics` must carry one.
   */
  tokens?: readonly AuthTokenConfig[];
  /**
   * Origins (`https://app.example.com`) whose web pages may connect besides the server's own.
   * A request carrying any other `Origin` header is refused with 403; requests without one
   * (programs, not pages) are unaffected. Default: none.
   */
  allowOrigins?: readonly string[];
  /** Largest accepted frame; a bigger one closes that connection with 1009. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Requests one connection may have in flight; beyond it they are answered `-32005`. Default 64. */
  maxInFlight?: number;
  /** Keep-alive ping interval; a silent client is dropped within two. Default 15 s. */
  pingIntervalMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

/** A listening runtime server. */
export interface RuntimeServer {
  /** `ws://host:port/` — where clients connect. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Open client connections. */
  readonly connectionCount: number;
  /** Stops listening and closes every connection (1001). Does not close the runtime. */
  close(): Promise<void>;
}

/** Refusal to serve a non-loopback address without a token: anyone on the network could run flows. */
export class UnsafeBindError extends FlowrunError {
  override name = 'UnsafeBindError';
  constructor(readonly host: string) {
    super(
      'UNSAFE_BIND',
      `refusing to listen on ${host} without a token: only loopback addresses (127.0.0.1, ::1, localhost) may be served without one; ` +
        'give --token or set FLOWRUN_TOKEN',
    );
  }
}

/**
 * Serves a runtime to external clients (docs/serve.md): JSON-RPC over WebSocket on path `/` (one message
 * per text frame), `GET /health`, `GET /metrics`, `GET /whoami` and the dashboard's files (docs/dashboard.md). Authentication happens at the upgrade, so a refused client
 * never gets a single message read.
 */
export async function startRuntimeServer(options: RuntimeServerOptions): Promise<RuntimeServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const token = options.token;
  if (token !== undefined && token.length === 0) throw new RangeError('token must not be empty');
  const directory = TokenDirectory.of(options.tokens ?? [], token);
  if (!directory.required && !isLoopbackHost(host)) throw new UnsafeBindError(host);
  integerIn('port', port, 0, 65535);
  const maxMessageBytes = byteSize('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  const maxInFlight = positiveInt('maxInFlight', options.maxInFlight, DEFAULT_MAX_IN_FLIGHT);
  const pingIntervalMs = delayMs('pingIntervalMs', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
  const origins = new OriginPolicy(host, options.allowOrigins);
  const logger = options.logger ?? silentLogger;
  const api = options.runtime.service;
  const nodes = options.runtime.nodes;
  const workers = options.runtime.workers;
  const metricsSources = { runtime: options.runtime.metrics, nodes, workers, logger };
  const audit = auditLogger(logger);
  const startedAt = Date.now();

  const sockets = new Set<WebSocket>();
  let closing = false;
  const dashboard = DashboardFiles.load();
  // A page offers its token as a second subprotocol: the one selected is always `flowrun.v1`, never the token.
  const handleProtocols = (offered: Set<string>): string | false => (offered.has(DASHBOARD_SUBPROTOCOL) ? DASHBOARD_SUBPROTOCOL : false);
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, clientTracking: false, handleProtocols });

  const serveConnection = (ws: WebSocket, req: IncomingMessage, principal: Principal): void => {
    const name = `client ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    sockets.add(ws);
    const connection: WebSocketConnection = wireWebSocket(ws, {
      logger,
      name,
      pingIntervalMs,
      onSkippedFrame: (reason) => replyParseError(connection.writer, reason),
      onError: (error) => logger.warn({ client: name, err: error }, `${name}: ${error.message}`),
      onDead: () => logger.info({ client: name }, `${name} stopped answering pings; dropped`),
      onClose: (code, reason) => {
        sockets.delete(ws);
        logger.debug({ client: name, code, reason }, `${name} disconnected (${code})`);
      },
    });
    const { writer } = connection;
    const reader = replyToUnaddressableMessages(connection.reader, writer);
    const peer = new RpcPeer(reader, writer, { name, logger, maxInFlight });
    // External clients have no parent item: the runs they submit are top-level runs, in the namespace of their token.
    const caller = { principal };
    registerRuntimeHandlers(peer, api, () => caller, { audit });
    if (nodes !== undefined) registerNodesHandler(peer, nodes, principal);
    if (workers !== undefined) registerWorkersHandler(peer, workers, principal);
    if (options.runtime.watches !== undefined) registerWatchHandlers(peer, options.runtime.watches, principal);
    peer.listen();
    logger.debug({ client: name, token: principal.tokenName, namespace: principal.namespace }, `${name} connected`);
  };

  /** A worker's socket (docs/workers.md): tracked for shutdown, served by the runtime's worker registry. */
  const acceptWorker = (ws: WebSocket, req: IncomingMessage, intake: WorkerIntake): void => {
    sockets.add(ws);
    ws.once('close', () => sockets.delete(ws));
    intake.accept(ws, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error) => logger.debug({ err: error }, 'upgrade socket error'));
    const path = pathOf(req);
    const forWorker = path === WORKERS_PATH && workers !== undefined;
    if (path !== '/' && !forWorker) {
      refuseUpgrade(socket, 404, `no WebSocket endpoint at ${path}; connect to /${workers === undefined ? '' : ` (clients) or ${WORKERS_PATH} (workers)`}`);
      return;
    }
    const foreignOrigin = refusedOrigin(req);
    if (foreignOrigin !== undefined) {
      refuseUpgrade(socket, 403, foreignOrigin);
      return;
    }
    const principal = authenticate(req, 'a connection');
    if (principal === undefined) {
      refuseUpgrade(socket, 401, UNAUTHORIZED_MESSAGE, { 'WWW-Authenticate': 'Bearer' });
      return;
    }
    // Workers dial in with a worker's token (or an admin's); a worker's token opens nothing else (docs/security.md).
    if (forWorker && principal.role !== 'worker' && principal.role !== 'admin') {
      refuseUpgrade(socket, 403, `forbidden: ${WORKERS_PATH} needs a token of role worker; token "${principal.tokenName}" has role ${principal.role}`);
      return;
    }
    if (closing) {
      refuseUpgrade(socket, 503, 'server is shutting down');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (forWorker ? acceptWorker(ws, req, workers) : serveConnection(ws, req, principal)));
  };

  /**
   * Who a request's bearer token names (an admin when the server has no tokens), or undefined (logged): 401.
   * Without an `Authorization` header, a browser's WebSocket offers the token as a subprotocol (docs/security.md).
   */
  const authenticate = (req: IncomingMessage, what: string): Principal | undefined => {
    if (!directory.required) return ANONYMOUS_ADMIN;
    const { authorization } = req.headers;
    const principal =
      authorization !== undefined ? directory.principalOf(authorization) : directory.principalOfToken(subprotocolBearerOf(req.headers['sec-websocket-protocol']));
    if (principal === undefined) logger.warn({ remote: req.socket.remoteAddress, path: pathOf(req) }, `refused ${what} without a valid bearer token`);
    return principal;
  };

  /** Why a request from a web page of a foreign origin is refused (logged), or undefined. */
  const refusedOrigin = (req: IncomingMessage): string | undefined => {
    const refusal = origins.refusal(req.headers.origin, req.headers.host, req.socket.localPort);
    if (refusal !== undefined) logger.warn({ origin: req.headers.origin, remote: req.socket.remoteAddress }, 'refused a request from a foreign web origin');
    return refusal;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const foreignOrigin = refusedOrigin(req);
    if (foreignOrigin !== undefined) {
      replyJson(res, 403, { error: foreignOrigin });
      return;
    }
    const path = pathOf(req);
    if (path === '/metrics') answerMetricsToAdmin(req, res);
    else if (path === EVENTS_PATH && options.runtime.watches !== undefined) answerEventsToViewer(req, res, options.runtime.watches);
    else if (path === WHOAMI_PATH) answerWhoami(req, res);
    else if (dashboard.serves(path)) dashboard.answer(req, res, path);
    else answerPlainRequest(req, res, startedAt, nodes);
  };

  /** `GET /whoami`: the token's name, namespace and role, and whether the server needs a token at all. */
  const answerWhoami = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET') {
      replyJson(res, 405, { error: `${req.method} not allowed on ${WHOAMI_PATH}` }, { Allow: 'GET' });
      return;
    }
    const principal = authenticate(req, 'a /whoami request');
    const noStore = { 'Cache-Control': 'no-store' };
    if (principal === undefined) replyJson(res, 401, { error: UNAUTHORIZED_MESSAGE }, { 'WWW-Authenticate': 'Bearer', ...noStore });
    else replyJson(res, 200, { name: principal.tokenName, namespace: principal.namespace, role: principal.role, tokenRequired: directory.required }, noStore);
  };

  /** `GET /metrics` shows every namespace's load: an admin's token is needed whenever the server has tokens. */
  const answerMetricsToAdmin = (req: IncomingMessage, res: ServerResponse): void => {
    const principal = authenticate(req, 'a /metrics request');
    if (principal === undefined) replyJson(res, 401, { error: UNAUTHORIZED_MESSAGE }, { 'WWW-Authenticate': 'Bearer' });
    else if (!roleAtLeast(principal.role, 'admin')) replyJson(res, 403, { error: `forbidden: /metrics needs role admin; token "${principal.tokenName}" has role ${principal.role}` });
    else answerMetrics(req, res, metricsSources);
  };

  /** `GET /events` as the token's principal: the route checks its role and shows its namespace's events (docs/security.md). */
  const answerEventsToViewer = (req: IncomingMessage, res: ServerResponse, watches: RunWatches): void => {
    const principal = authenticate(req, 'a /events request');
    if (principal === undefined) replyJson(res, 401, { error: UNAUTHORIZED_MESSAGE }, { 'WWW-Authenticate': 'Bearer' });
    else answerEvents(req, res, watches, logger, principal);
  };

  const http = createServer(onRequest);
  http.on('upgrade', onUpgrade);
  http.on('clientError', (error, socket) => {
    logger.debug({ err: error }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await listen(http, port, host);
  const boundPort = (http.address() as AddressInfo).port;
  const url = `ws://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${boundPort}/`;
  const workersUrl = workers === undefined ? undefined : `${url.slice(0, -1)}${WORKERS_PATH}`;
  logger.info({ url, workersUrl, auth: directory.required }, `flowrun runtime serving on ${url}${workersUrl === undefined ? '' : ` (workers: ${workersUrl})`}`);

  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port: boundPort,
    get connectionCount() {
      return sockets.size;
    },
    close: () =>
      (closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await Promise.all([...sockets].map((ws) => closeWebSocket(ws, 1001, 'server shutting down', CLOSE_GRACE_MS)));
        http.closeAllConnections();
        await stopped;
        logger.info({ url }, 'flowrun runtime server closed');
      })()),
  };
}

/** Answers a request that is not an upgrade: `GET /health`, and why other paths have nothing for it. */
function answerPlainRequest(req: IncomingMessage, res: ServerResponse, startedAt: number, nodes: NodeDirectory | undefined): void {
  const path = pathOf(req);
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      replyJson(res, 405, { error: `${req.method} not allowed on /health` }, { Allow: 'GET, HEAD' });
      return;
    }
    replyJson(res, 200, { status: 'ok', version: packageVersion(), uptimeMs: Date.now() - startedAt, ...nodeHealth(nodes) });
  } else if (path === '/') {
    replyJson(res, 426, { error: 'the runtime speaks JSON-RPC over WebSocket here: upgrade the connection' }, { Upgrade: 'websocket' });
  } else {
    replyJson(res, 404, { error: `not found: ${path}` });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EADDRNOTAVAIL' ? 'address not available' : error.message;
      reject(new FlowrunError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return req.url ?? '/';
  }
}
