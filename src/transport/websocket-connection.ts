import WebSocket from 'ws';
import type { Logger } from '../log.js';
import { startKeepAlive } from './keep-alive.js';
import { WebSocketMessageReader, type WebSocketReaderOptions } from './websocket-reader.js';
import { WebSocketMessageWriter } from './websocket-writer.js';

/** Options of {@link wireWebSocket}. */
export interface WebSocketConnectionOptions {
  /** Where skipped frames are reported. Default: silent. */
  logger?: Logger;
  /** Names the connection in log lines. Default `websocket`. */
  name?: string;
  /** Keep-alive ping interval; a peer silent for 2 intervals is terminated. Default 15 000 ms. */
  pingIntervalMs?: number;
  /** Called once, just before a silent peer's socket is terminated. */
  onDead?: () => void;
  /** Told about every skipped frame (see `WebSocketReaderOptions`). */
  onSkippedFrame?: WebSocketReaderOptions['onSkippedFrame'];
  /** Told about socket errors (the close that follows ends the connection). Default: ignored. */
  onError?: (error: Error) => void;
  /**
   * Called once when the socket closes, before the reader and writer fire their own close: an
   * owner closing its peer here closes it with the reason.
   */
  onClose?: (code: number, reason: string) => void;
}

/** How a WebSocket closed. */
export interface WebSocketClose {
  code: number;
  reason: string;
}

/** One open WebSocket as a JSON-RPC channel: reader, writer, keep-alive and how it ended. */
export interface WebSocketConnection {
  readonly socket: WebSocket;
  readonly reader: WebSocketMessageReader;
  readonly writer: WebSocketMessageWriter;
  /** Resolves once the socket closed (at once, with 1006, when it already had). */
  readonly closed: Promise<WebSocketClose>;
}

/**
 * Wires an open (or opening) `ws` socket into a JSON-RPC channel (docs/protocol.md, "Wire format"):
 * one message per text frame, pings every `pingIntervalMs`. Every WebSocket of flowrun, dialled or
 * accepted, goes through here.
 */
export function wireWebSocket(socket: WebSocket, options: WebSocketConnectionOptions = {}): WebSocketConnection {
  const { onError, onClose } = options;
  // Registered first: owners hear about the close before the reader and writer fire theirs.
  const closed = new Promise<WebSocketClose>((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) {
      resolve({ code: 1006, reason: '' });
      return;
    }
    socket.once('close', (code, reason) => {
      const close = { code, reason: reason.toString() };
      onClose?.(close.code, close.reason);
      resolve(close);
    });
  });
  if (onError !== undefined) socket.on('error', onError);
  startKeepAlive(socket, { intervalMs: options.pingIntervalMs, onDead: options.onDead });
  const reader = new WebSocketMessageReader(socket, { logger: options.logger, name: options.name, onSkippedFrame: options.onSkippedFrame });
  const writer = new WebSocketMessageWriter(socket);
  return { socket, reader, writer, closed };
}

/** Closes a socket with `code` and waits for it; one that does not close within `graceMs` is terminated. */
export function closeWebSocket(socket: WebSocket, code: number, reason: string, graceMs: number): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(code, reason);
  });
}
