import type WebSocket from 'ws';
import { dialWebSocket, WebSocketDialError, type DialFailure } from '../transport/websocket-dial.js';
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
export async function openSocket(url: string, options: OpenSocketOptions): Promise<WebSocket> {
  try {
    return await dialWebSocket(url, {
      connectTimeoutMs: options.connectTimeoutMs,
      maxPayload: options.maxMessageBytes,
      headers: options.token !== undefined ? { Authorization: `Bearer ${options.token}` } : {},
      signal: options.signal,
    });
  } catch (error) {
    if (!(error instanceof WebSocketDialError)) throw error;
    throw connectError(url, error.failure, options.connectTimeoutMs, error.cause);
  }
}

function connectError(url: string, failure: DialFailure, connectTimeoutMs: number, cause: unknown): ConnectError {
  switch (failure.kind) {
    case 'invalid-url':
      return new ConnectError(url, `invalid runtime URL "${url}": ${failure.reason} (expected ws://HOST:PORT/)`, undefined, cause);
    case 'network':
      return new ConnectError(url, `cannot connect to ${url}: ${describeNetworkError(failure.error)}`, undefined, cause);
    case 'http': {
      const { status } = failure;
      const hint = status === 401 ? ' (missing or wrong token: give --token or set FLOWRUN_TOKEN)' : status === 404 ? ' (no runtime endpoint at this path)' : '';
      return new ConnectError(url, `${url} refused the connection: HTTP ${status} ${failure.statusMessage}`.trimEnd() + hint, status);
    }
    case 'timeout':
      return new ConnectError(url, `cannot connect to ${url}: no answer within ${connectTimeoutMs} ms`);
    case 'aborted':
      return new ConnectError(url, `connecting to ${url} was aborted`, undefined, cause);
  }
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
