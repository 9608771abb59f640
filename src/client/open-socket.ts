import WebSocket from 'ws';
import { ConnectError } from './connect-error.js';

/** Options of {@link openSocket}. */
export interface OpenSocketOptions {
  token?: string;
  signal?: AbortSignal;
  connectTimeoutMs: number;
  maxMessageBytes: number;
}

/**
 * Opens a WebSocket and resolves once the handshake succeeded. Every way it can fail becomes one
 * `ConnectError` naming the URL: refused, host not found, an HTTP status instead of the upgrade
 * (401 for a missing or wrong token), timeout, abort.
 */
export function openSocket(url: string, options: OpenSocketOptions): Promise<WebSocket> {
  if (options.signal?.aborted) return Promise.reject(new ConnectError(url, `connecting to ${url} was aborted`, undefined, options.signal.reason));
  let socket: WebSocket;
  try {
    const protocol = new URL(url).protocol;
    if (protocol !== 'ws:' && protocol !== 'wss:') throw new Error(`the scheme must be ws: or wss:, not ${protocol}`);
    socket = new WebSocket(url, {
      headers: options.token !== undefined ? { Authorization: `Bearer ${options.token}` } : {},
      maxPayload: options.maxMessageBytes,
    });
  } catch (error) {
    return Promise.reject(new ConnectError(url, `invalid runtime URL "${url}": ${(error as Error).message} (expected ws://HOST:PORT/)`, undefined, error));
  }
  return new Promise((resolve, reject) => {
    const fail = (error: ConnectError): void => {
      cleanup();
      // Swallows the error events the teardown itself may still emit.
      socket.on('error', ignore);
      socket.terminate();
      reject(error);
    };
    const onOpen = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: NodeJS.ErrnoException): void => fail(new ConnectError(url, `cannot connect to ${url}: ${describeNetworkError(error)}`, undefined, error));
    const onResponse = (_req: unknown, res: { statusCode?: number; statusMessage?: string }): void => {
      const status = res.statusCode ?? 0;
      const hint = status === 401 ? ' (missing or wrong token: give --token or set FLOWRUN_TOKEN)' : status === 404 ? ' (no runtime endpoint at this path)' : '';
      fail(new ConnectError(url, `${url} refused the connection: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + hint, status));
    };
    const onAbort = (): void => fail(new ConnectError(url, `connecting to ${url} was aborted`, undefined, options.signal!.reason));
    const timer = setTimeout(() => fail(new ConnectError(url, `cannot connect to ${url}: no answer within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('open', onOpen);
      socket.off('error', onError);
      socket.off('unexpected-response', onResponse);
      options.signal?.removeEventListener('abort', onAbort);
    };
    socket.on('open', onOpen);
    socket.on('error', onError);
    socket.on('unexpected-response', onResponse);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is `flowrun serve` running there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return error.message;
  }
}

function ignore(): void {}
