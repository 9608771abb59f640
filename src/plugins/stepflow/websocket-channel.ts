import type WebSocket from 'ws';
import { ErrorCodes } from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { byteSize } from '../../options.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../transport/ndjson-reader.js';
import { wireWebSocket, type WebSocketClose } from '../../transport/websocket-connection.js';
import { dialWebSocket, WebSocketDialError, type DialFailure } from '../../transport/websocket-dial.js';
import type { WebSocketMessageReader } from '../../transport/websocket-reader.js';
import type { WebSocketMessageWriter } from '../../transport/websocket-writer.js';
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
      socket = await dialWebSocket(launch.url, { connectTimeoutMs: launch.connectTimeoutMs, maxPayload });
    } catch (error) {
      throw error instanceof WebSocketDialError ? unreachable(launch, error.failure) : unreachable(launch, { kind: 'invalid-url', reason: errorMessage(error) });
    }
    const { plugin, logger, pingIntervalMs, url } = launch;
    return new WebSocketChannel({ plugin, logger, pingIntervalMs, label: `url "${url}"`, details: { url } }, socket);
  };
}

/** A `ServerStartError` saying why the server could not be reached, and whether trying again may help. */
function unreachable(launch: WebSocketLaunch, failure: DialFailure): ServerStartError {
  const { reason, retryable } = describeFailure(launch, failure);
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

function describeFailure(launch: WebSocketLaunch, failure: DialFailure): { reason: string; retryable: boolean } {
  switch (failure.kind) {
    case 'network':
      // A system error (refused, reset, unreachable) may pass once the server is back; a protocol violation will not.
      return { reason: failure.error.message, retryable: typeof failure.error.code === 'string' && failure.error.code.startsWith('E') };
    case 'http':
      // A proxy answers 502/503 while the server behind it restarts; 4xx is a wrong URL or missing token.
      return { reason: `the upgrade was refused with HTTP ${failure.status} ${failure.statusMessage}`.trimEnd(), retryable: failure.status >= 500 };
    case 'timeout':
      return { reason: `no answer to the upgrade within ${launch.connectTimeoutMs} ms`, retryable: false };
    case 'invalid-url':
      return { reason: failure.reason, retryable: false };
    case 'aborted':
      return { reason: 'dialling was aborted', retryable: false };
  }
}

/** Who is at the other end of a WebSocket channel, as logs and errors name it. */
export interface WebSocketPeerInfo {
  plugin: string;
  logger: Logger;
  /** Keep-alive ping interval, in ms: a peer silent for 2 intervals is dropped. */
  pingIntervalMs: number;
  /** `url "ws://…"`, or a worker's name and address. */
  label: string;
  details: Readonly<Record<string, unknown>>;
}

/** A WebSocket to one component server, dialled by the runtime or accepted from a worker that dialled in. */
export class WebSocketChannel implements ServerChannel {
  readonly reader: WebSocketMessageReader;
  readonly writer: WebSocketMessageWriter;
  readonly label: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly pid = undefined;
  readonly ended: Promise<string>;
  readonly brokenDescription = 'broke the connection';

  constructor(
    info: WebSocketPeerInfo,
    private readonly socket: WebSocket,
  ) {
    this.label = info.label;
    this.details = info.details;
    /** Why the connection ended, when the close code alone would not tell. */
    let cause: string | undefined;
    const connection = wireWebSocket(socket, {
      logger: info.logger,
      name: info.plugin,
      pingIntervalMs: info.pingIntervalMs,
      onError: (error) => {
        cause ??= `broke the connection: ${error.message}`;
      },
      onDead: () => {
        cause = `stopped answering pings (sent every ${info.pingIntervalMs} ms)`;
        info.logger.warn(info.details, `component server "${info.plugin}" ${cause}; dropping the connection`);
      },
    });
    const describe = ({ code, reason }: WebSocketClose): string => cause ?? `closed the connection (code ${code}${reason.length > 0 ? `: ${reason}` : ''})`;
    this.ended = connection.closed.then(describe);
    this.reader = connection.reader;
    this.writer = connection.writer;
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
