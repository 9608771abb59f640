import WebSocket from 'ws';
import { FlowrunError } from '../errors.js';

/** Options of {@link dialWebSocket}. */
export interface DialOptions {
  /** Bound on the TCP connect and the upgrade handshake together, in ms. */
  connectTimeoutMs: number;
  /** Largest frame accepted from the peer; a bigger one closes the socket (1009). */
  maxPayload: number;
  /** Sent with the upgrade request, e.g. `Authorization`. Default: none. */
  headers?: Readonly<Record<string, string>>;
  /** Aborts dialling (not the socket once open). */
  signal?: AbortSignal;
}

/** How dialling failed: each caller words it for its own readers. */
export type DialFailure =
  | { kind: 'invalid-url'; reason: string }
  | { kind: 'network'; error: NodeJS.ErrnoException }
  | { kind: 'http'; status: number; statusMessage: string }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

/** A WebSocket could not be opened; `failure` says how, `url` where. */
export class WebSocketDialError extends FlowrunError {
  override name = 'WebSocketDialError';
  constructor(
    readonly url: string,
    readonly failure: DialFailure,
    cause?: unknown,
  ) {
    super('DIAL_FAILED', `cannot open a WebSocket to ${url}: ${failure.kind}`, { cause });
  }
}

/**
 * Opens a WebSocket (`ws://` or `wss://`) and resolves once the upgrade succeeded; rejects with a
 * `WebSocketDialError`. The socket of a failed dial is terminated and its late errors swallowed.
 */
export function dialWebSocket(url: string, options: DialOptions): Promise<WebSocket> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new WebSocketDialError(url, { kind: 'aborted' }, signal.reason));
  let socket: WebSocket;
  try {
    const protocol = new URL(url).protocol;
    if (protocol !== 'ws:' && protocol !== 'wss:') throw new Error(`the scheme must be ws: or wss:, not ${protocol}`);
    socket = new WebSocket(url, { headers: { ...options.headers }, maxPayload: options.maxPayload, perMessageDeflate: false });
  } catch (error) {
    return Promise.reject(new WebSocketDialError(url, { kind: 'invalid-url', reason: (error as Error).message }, error));
  }
  return new Promise((resolve, reject) => {
    const fail = (failure: DialFailure, cause?: unknown): void => {
      cleanup();
      // Late errors of an abandoned socket must not become uncaught 'error' events.
      socket.on('error', ignore);
      socket.terminate();
      reject(new WebSocketDialError(url, failure, cause));
    };
    const onOpen = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: NodeJS.ErrnoException): void => fail({ kind: 'network', error }, error);
    const onResponse = (_request: unknown, response: { statusCode?: number; statusMessage?: string }): void =>
      fail({ kind: 'http', status: response.statusCode ?? 0, statusMessage: response.statusMessage ?? '' });
    const onAbort = (): void => fail({ kind: 'aborted' }, signal!.reason);
    const timer = setTimeout(() => fail({ kind: 'timeout' }), options.connectTimeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('open', onOpen);
      socket.off('error', onError);
      socket.off('unexpected-response', onResponse);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.on('open', onOpen);
    socket.on('error', onError);
    socket.on('unexpected-response', onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}
