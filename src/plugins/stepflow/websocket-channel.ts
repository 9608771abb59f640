import WebSocket from 'ws';
import { ErrorCodes } from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { startKeepAlive } from '../../transport/keep-alive.js';
import { byteSize } from '../../options.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../transport/ndjson-reader.js';
import { WebSocketMessageReader } from '../../transport/websocket-reader.js';
import { WebSocketMessageWriter } from '../../transport/websocket-writer.js';
import { errorMessage, ServerStartError, within, type ServerChannel, type ChannelOpener } from './server-channel.js';

/** What it takes to dial one component server listening on a WebSocket URL. */
export interface WebSocketLaunch {
  plugin: string;
  /** `ws://` or `wss://`. */
  url: string;
  logger: Logger;
  /** Largest accepted frame; a bigger one closes the connection (1009). Default 64 MiB. */
  maxMessageBytes?: number;
  /** Bound on the TCP connect and the upgrade handshake, in ms. */
  connectTimeoutMs: number;
  /** Keep-alive ping interval, in ms: a server silent for 2 intervals is dropped. */
  pingIntervalMs: number;
}

/** An opener that dials the server's WebSocket URL (docs/protocol.md: one message per text frame, ping/pong keep-alive). */
export function webSocketOpener(launch: WebSocketLaunch): ChannelOpener {
  const maxPayload = byteSize('maxMessageBytes', launch.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  return async () => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(launch.url, { perMessageDeflate: false, maxPayload, handshakeTimeout: launch.connectTimeoutMs });
    } catch (error) {
      throw unreachable(launch, errorMessage(error), false);
    }
    await connected(socket, launch);
    return new WebSocketTransport(launch, socket);
  };
}

/** Resolves once the socket is open; rejects with a `ServerStartError` saying why it could not connect. */
function connected(socket: WebSocket, launch: WebSocketLaunch): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('open', onOpen);
      socket.off('error', onError);
      socket.off('unexpected-response', onResponse);
      // Late errors of an abandoned socket must not become uncaught 'error' events.
      socket.on('error', ignore);
    };
    const onOpen = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      cleanup();
      socket.terminate();
      // A system error (refused, reset, unreachable) may pass once the server is back; a handshake
      // timeout or a protocol violation will not.
      reject(unreachable(launch, error.message, typeof error.code === 'string' && error.code.startsWith('E')));
    };
    const onResponse = (request: { destroy(): void }, response: { statusCode?: number; statusMessage?: string }): void => {
      cleanup();
      request.destroy();
      const status = response.statusCode ?? 0;
      // A proxy answers 502/503 while the server behind it restarts; 4xx is a wrong URL or missing token.
      reject(unreachable(launch, `the upgrade was refused with HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd(), status >= 500));
    };
    socket.once('open', onOpen);
    socket.on('error', onError);
    socket.once('unexpected-response', onResponse);
  });
}

function unreachable(launch: WebSocketLaunch, reason: string, retryable: boolean): ServerStartError {
  return new ServerStartError(
    {
      code: ErrorCodes.ResourceUnavailable,
      message: `component server "${launch.plugin}" (url "${launch.url}") cannot be reached: ${reason}`,
      data: { plugin: launch.plugin, url: launch.url },
    },
    retryable,
    launch.plugin,
  );
}

class WebSocketTransport implements ServerChannel {
  readonly reader: WebSocketMessageReader;
  readonly writer: WebSocketMessageWriter;
  readonly label: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly pid = undefined;
  readonly ended: Promise<string>;
  readonly brokenDescription = 'broke the connection';

  constructor(
    launch: WebSocketLaunch,
    private readonly socket: WebSocket,
  ) {
    this.label = `url "${launch.url}"`;
    this.details = { url: launch.url };
    /** Why the connection ended, when the close code alone would not tell. */
    let cause: string | undefined;
    socket.on('error', (error) => {
      cause ??= `broke the connection: ${error.message}`;
    });
    startKeepAlive(socket, {
      intervalMs: launch.pingIntervalMs,
      onDead: () => {
        cause = `stopped answering pings (sent every ${launch.pingIntervalMs} ms)`;
        launch.logger.warn({ url: launch.url }, `component server "${launch.plugin}" ${cause}; dropping the connection`);
      },
    });
    this.ended = new Promise<string>((resolve) => {
      const describe = (code: number, reason: Buffer): string =>
        cause ?? `closed the connection (code ${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`;
      if (socket.readyState === WebSocket.CLOSED) resolve(describe(1006, Buffer.alloc(0)));
      else socket.once('close', (code, reason) => resolve(describe(code, reason)));
    });
    this.reader = new WebSocketMessageReader(socket, { logger: launch.logger, name: launch.plugin });
    this.writer = new WebSocketMessageWriter(socket);
  }

  destroy(): void {
    this.socket.terminate();
  }

  async shutdown(graceMs: number): Promise<void> {
    this.writer.end();
    if ((await within(this.ended, graceMs)) === undefined) {
      this.socket.terminate();
      await this.ended;
    }
  }
}

function ignore(): void {}
