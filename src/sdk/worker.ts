import { hostname } from 'node:os';
import { RpcError, WorkersDrain, WorkersRegister, type ResultOut } from '../../protocol/index.js';
import { ConnectError } from '../client/connect-error.js';
import { openSocket } from '../client/open-socket.js';
import { byteSize, delayMs, integerIn, nonEmptyString } from '../options.js';
import { DEFAULT_PING_INTERVAL_MS } from '../transport/keep-alive.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/ndjson-reader.js';
import { closeWebSocket, wireWebSocket } from '../transport/websocket-connection.js';
import type { ComponentServer, ComponentServerConnection } from './component-server.js';

/** Options of `ComponentServer.serveWorker` (docs/workers.md). */
export interface ServeWorkerOptions {
  /** The runtime's worker endpoint, `ws://HOST:7837/workers`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. Default: none. */
  token?: string;
  /** The pool to join. Default `default`. */
  pool?: string;
  /** Calls the runtime may send at once. Default 16. */
  capacity?: number;
  /** Names the worker in `flowrun workers`. Default `<server name>@<host>:<pid>`. */
  name?: string;
  /** Bound on one dial (TCP connect and upgrade), in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Keep-alive ping interval; a runtime silent for 2 intervals counts as gone. Default 15 000. */
  pingIntervalMs?: number;
  /** First wait before dialling again after a lost or failed connection, doubled each time. Default 100. */
  reconnectInitialMs?: number;
  /** Longest wait between two dials. Default 5 000. */
  reconnectMaxMs?: number;
  /** Told each time the worker registered (on every reconnect too). */
  onRegistered?: (registration: ResultOut<typeof WorkersRegister>) => void;
}

/** A component server running as a worker of a runtime's pool. */
export interface WorkerServing {
  /** The id of the current registration; undefined while disconnected. */
  readonly workerId: string | undefined;
  /**
   * Takes no new calls (`workers/drain`), lets the running ones finish, then closes the connection
   * and stops reconnecting. Resolves when done.
   */
  drain(): Promise<void>;
  /** Resolves once drained, or rejects when the runtime refused the worker for good (a bad token, bad params). */
  readonly done: Promise<void>;
}

/** How long a worker waits for the runtime to answer `workers/register` and `workers/drain`. */
const REGISTER_TIMEOUT_MS = 10_000;
/** How often a draining worker checks whether its last call finished. */
const DRAIN_POLL_MS = 20;

/**
 * Runs `server` as a worker (docs/workers.md): dials the runtime, registers its components, serves
 * the calls the runtime sends over that connection, and dials again with backoff (100 ms doubling
 * to 5 s, with jitter) whenever the connection fails or drops. A refusal that trying again cannot
 * fix (HTTP 4xx at the upgrade, an error answer to `workers/register`) ends it with that error.
 */
export function serveAsWorker(server: ComponentServer, options: ServeWorkerOptions): WorkerServing {
  return new WorkerLoop(server, options);
}

class WorkerLoop implements WorkerServing {
  workerId: string | undefined;
  readonly done: Promise<void>;
  private session: ComponentServerConnection | undefined;
  private draining = false;
  private wakeBackoff: (() => void) | undefined;
  private readonly register: { pool: string; name: string; capacity: number };
  private readonly url: string;
  private readonly connectTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly maxPayload: number;
  private readonly backoff: { initial: number; max: number };

  constructor(
    private readonly server: ComponentServer,
    private readonly options: ServeWorkerOptions,
  ) {
    this.url = nonEmptyString('serveWorker: "url"', options.url);
    const capacity = integerIn('serveWorker: "capacity"', options.capacity, 1, 100_000, 16);
    const pool = nonEmptyString('serveWorker: "pool"', options.pool ?? 'default');
    const name = nonEmptyString('serveWorker: "name"', options.name ?? `${server.name}@${hostname()}:${process.pid}`);
    this.register = { pool, name, capacity };
    this.connectTimeoutMs = delayMs('serveWorker: "connectTimeoutMs"', options.connectTimeoutMs, 10_000);
    this.pingIntervalMs = delayMs('serveWorker: "pingIntervalMs"', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
    this.maxPayload = byteSize('maxMessageBytes', server.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
    const initial = delayMs('serveWorker: "reconnectInitialMs"', options.reconnectInitialMs, 100);
    this.backoff = { initial, max: Math.max(initial, delayMs('serveWorker: "reconnectMaxMs"', options.reconnectMaxMs, 5_000)) };
    this.done = this.run();
  }

  async drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.wakeBackoff?.();
      const session = this.session;
      if (session !== undefined) void this.finish(session);
    }
    await this.done.catch(() => undefined);
  }

  /** Connects, serves until the connection ends, and again, until drained or refused for good. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.draining) {
      try {
        const session = await this.connect();
        failures = 0;
        await session.closed;
      } catch (error) {
        if (isPermanent(error)) throw error;
        failures++;
        this.server.logger.warn({ err: errorText(error), url: this.url, failures }, `${this.server.name}: cannot serve as a worker of ${this.url}: ${errorText(error)}`);
      }
      this.session = undefined;
      this.workerId = undefined;
      if (!this.draining) await this.pause(failures);
    }
  }

  /** Dials, serves the components over the socket and registers; resolves with the live session. */
  private async connect(): Promise<ComponentServerConnection> {
    const headers = this.options.token === undefined ? {} : { token: this.options.token };
    const socket = await openSocket(this.url, { ...headers, connectTimeoutMs: this.connectTimeoutMs, maxMessageBytes: this.maxPayload });
    const logger = this.server.logger;
    const { reader, writer } = wireWebSocket(socket, {
      logger,
      name: this.server.name,
      pingIntervalMs: this.pingIntervalMs,
      onDead: () => logger.warn({ url: this.url }, `${this.server.name}: the runtime stopped answering pings; reconnecting`),
    });
    const session = this.server.serve(reader, writer);
    const closeSocket = (): Promise<void> => closeWebSocket(socket, 1000, 'worker done', 1000);
    session.closed.then(closeSocket, closeSocket);
    try {
      const registered = await session.peer.sendRequest(WorkersRegister, { ...this.register, components: this.server.listComponents() }, { timeoutMs: REGISTER_TIMEOUT_MS });
      this.session = session;
      this.workerId = registered.workerId;
      logger.info({ ...registered, pool: this.register.pool, url: this.url }, `${this.server.name}: registered as worker ${registered.workerId}`);
      this.options.onRegistered?.(registered);
      if (this.draining) void this.finish(session);
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  /** Drains one session: asks for no new calls, waits for the running ones, closes. */
  private async finish(session: ComponentServerConnection): Promise<void> {
    try {
      await session.peer.sendRequest(WorkersDrain, {}, { timeoutMs: REGISTER_TIMEOUT_MS });
    } catch (error) {
      this.server.logger.warn({ err: errorText(error) }, `${this.server.name}: workers/drain failed; closing once the running calls finished`);
    }
    while (session.peer.inFlightCount > 0 && !session.peer.isClosed) await sleep(DRAIN_POLL_MS);
    session.close();
  }

  /** Waits before the next dial: `initial · 2^(failures−1)` up to `max`, ±20 % jitter; `drain()` cuts it short. */
  private pause(failures: number): Promise<void> {
    const base = Math.min(this.backoff.initial * 2 ** Math.max(0, failures - 1), this.backoff.max);
    const ms = Math.round(base * (0.8 + 0.4 * Math.random()));
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Errors no reconnect can fix: the upgrade refused with 4xx (wrong path or token), or register refused. */
function isPermanent(error: unknown): boolean {
  if (error instanceof RpcError) return true;
  return error instanceof ConnectError && error.status !== undefined && error.status >= 400 && error.status < 500;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
