import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import WebSocket from 'ws';
import { handledRejection } from './ndjson-writer.js';

/** Returned by every accepted write: callers learn about failures through `onError`. */
const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Writes one JSON-RPC message per text frame (docs/protocol.md, "Wire format") to a `ws` WebSocket. `ws` already corks the
 * frames written in one tick into one socket write, so no batching here. A write on a socket that
 * is closing or closed is dropped (its close event tells the owner); messages written while the
 * socket is still connecting go out once it opens.
 */
export class WebSocketMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private ended = false;
  private errorCount = 0;
  /** Frames written before the socket opened. */
  private waiting: string[] | undefined;

  constructor(private readonly socket: WebSocket) {
    super();
    socket.on('close', this.onSocketClose);
    if (socket.readyState === WebSocket.CONNECTING) {
      this.waiting = [];
      socket.once('open', this.onOpen);
    } else if (socket.readyState !== WebSocket.OPEN) {
      this.ended = true;
    }
  }

  /** Sends one message as one text frame; serialisation and socket errors are reported via `onError`. */
  write(msg: Message): Promise<void> {
    if (this.ended) return WRITTEN;
    let frame: string;
    try {
      frame = JSON.stringify(msg);
    } catch (error) {
      // The message (e.g. a result holding a BigInt or a cycle) cannot go on the wire; the owner decides.
      this.fireError(error, msg, ++this.errorCount);
      return handledRejection(error);
    }
    if (this.waiting !== undefined) this.waiting.push(frame);
    else if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame, this.onSent);
    return WRITTEN;
  }

  /** Closes the socket normally (1000); frames already sent are delivered first. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting = undefined;
    const state = this.socket.readyState;
    if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) this.socket.close(1000);
  }

  override dispose(): void {
    this.socket.off('close', this.onSocketClose);
    this.socket.off('open', this.onOpen);
    super.dispose();
  }

  /** One shared callback for every frame: no closure per message. */
  private readonly onSent = (error?: Error): void => {
    // Once the socket is closing, failed sends are expected; the close event reports the end.
    if (error !== undefined && error !== null && !this.ended && this.socket.readyState === WebSocket.OPEN) {
      this.fireError(error, undefined, ++this.errorCount);
    }
  };

  private readonly onOpen = (): void => {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    if (this.ended) return;
    for (const frame of waiting) this.socket.send(frame, this.onSent);
  };

  private readonly onSocketClose = (): void => {
    this.ended = true;
    this.waiting = undefined;
    this.fireClose();
  };
}
