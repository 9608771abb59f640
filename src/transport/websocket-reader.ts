import { AbstractMessageReader, Disposable, type DataCallback, type Message } from 'vscode-jsonrpc/node';
import WebSocket from 'ws';
import { silentLogger, type Logger } from '../log.js';

/** Options of {@link WebSocketMessageReader}. */
export interface WebSocketReaderOptions {
  /** Where skipped frames are reported. Default: silent. */
  logger?: Logger;
  /** Names the connection in log lines (e.g. the plugin name). Default `websocket`. */
  name?: string;
  /** Told about every skipped frame, e.g. so a server can answer it with a JSON-RPC parse error. */
  onSkippedFrame?: (reason: 'binary' | 'not-json') => void;
}

const LOGGED_FRAME_CHARS = 200;

/**
 * Reads one JSON-RPC message per text frame (docs/protocol.md, "Wire format") from a `ws` WebSocket. Each frame is parsed
 * once; a frame that is not JSON, or a binary frame, is logged and skipped, never fatal. The frame
 * size cap is the socket's own `maxPayload` (the socket closes with 1009 when it is exceeded).
 * Frames that arrive before `listen()` are kept and delivered then, so a caller may wire the reader
 * up after an `await`.
 */
export class WebSocketMessageReader extends AbstractMessageReader {
  private readonly logger: Logger;
  private readonly name: string;
  private readonly onSkippedFrame: ((reason: 'binary' | 'not-json') => void) | undefined;
  private callback: DataCallback | undefined;
  private backlog: Message[] = [];
  private closed = false;
  private closeFired = false;

  constructor(
    private readonly socket: WebSocket,
    options: WebSocketReaderOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.name = options.name ?? 'websocket';
    this.onSkippedFrame = options.onSkippedFrame;
    socket.on('message', this.onFrame);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onSocketError);
    if (socket.readyState === WebSocket.CLOSED) this.closed = true;
  }

  /** Starts delivering messages; close is fired here if the socket closed before. To be called once. */
  listen(callback: DataCallback): Disposable {
    if (this.callback !== undefined) throw new Error(`WebSocketMessageReader(${this.name}): listen() called twice`);
    this.callback = callback;
    const backlog = this.backlog;
    this.backlog = [];
    for (const message of backlog) this.deliver(message);
    if (this.closed) this.fireCloseOnce();
    return Disposable.create(() => {
      this.callback = undefined;
    });
  }

  override dispose(): void {
    this.socket.off('message', this.onFrame);
    this.socket.off('close', this.onSocketClose);
    this.socket.off('error', this.onSocketError);
    super.dispose();
  }

  private readonly onFrame = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (isBinary) {
      this.logger.warn({ stream: this.name }, `${this.name}: skipped a binary frame`);
      this.onSkippedFrame?.('binary');
      return;
    }
    const text = rawDataToString(data);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.logger.warn({ stream: this.name, frame: text.slice(0, LOGGED_FRAME_CHARS) }, `${this.name}: skipped a frame that is not JSON`);
      this.onSkippedFrame?.('not-json');
      return;
    }
    if (this.callback === undefined) this.backlog.push(value as Message);
    else this.deliver(value as Message);
  };

  private deliver(message: Message): void {
    try {
      this.callback!(message);
    } catch (error) {
      // A listener bug must not tear down the connection; the next frame is still delivered.
      this.logger.error({ stream: this.name, err: error }, `${this.name}: message listener threw`);
    }
  }

  private readonly onSocketClose = (): void => {
    this.closed = true;
    if (this.callback !== undefined) this.fireCloseOnce();
  };

  private readonly onSocketError = (error: Error): void => {
    this.fireError(error);
  };

  private fireCloseOnce(): void {
    if (this.closeFired) return;
    this.closeFired = true;
    this.fireClose();
  }
}

function rawDataToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
