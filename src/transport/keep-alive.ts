import type WebSocket from 'ws';
import { delayMs } from '../options.js';

/** Options of {@link startKeepAlive}. */
export interface KeepAliveOptions {
  /** Time between pings in ms. Default 15000. */
  intervalMs?: number;
  /** Called once, just before a silent peer's socket is terminated. */
  onDead?: () => void;
}

export const DEFAULT_PING_INTERVAL_MS = 15_000;

/**
 * Pings the peer every `intervalMs` and terminates the socket when a whole interval passed after a
 * ping with no pong and no message: a dead peer is detected within 2 intervals of its last sign of
 * life (docs/protocol.md, "Wire format"). Any incoming message counts as a sign of life, so a peer too busy to answer a
 * ping in time but still sending results is kept. Returns a function that stops the pings; they
 * also stop when the socket closes.
 */
export function startKeepAlive(socket: WebSocket, options: KeepAliveOptions = {}): () => void {
  const intervalMs = delayMs('pingIntervalMs', options.intervalMs, DEFAULT_PING_INTERVAL_MS);
  let heard = true;
  let stopped = false;
  const onLife = (): void => {
    heard = true;
  };
  const tick = (): void => {
    if (socket.readyState !== socket.OPEN) return;
    if (!heard) {
      options.onDead?.();
      stop();
      socket.terminate();
      return;
    }
    heard = false;
    // A ping on a socket that just failed reports through the socket's own 'error'/'close'.
    socket.ping(undefined, undefined, ignoreError);
  };
  const timer = setInterval(tick, intervalMs);
  // Pings must never keep a process alive on their own.
  timer.unref();
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    socket.off('pong', onLife);
    socket.off('message', onLife);
    socket.off('close', stop);
  };
  socket.on('pong', onLife);
  socket.on('message', onLife);
  socket.on('close', stop);
  return stop;
}

function ignoreError(): void {}
