import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import { messageJson } from '../../protocol/wire-json.js';
import { positiveInt } from '../options.js';

/** Returned by every successful write: callers learn about failures through `onError`. */
const WRITTEN: Promise<void> = Promise.resolve();
/** Schedules the flush as a microtask (cheaper than `queueMicrotask`, which makes an AsyncResource per call). */
const RESOLVED: Promise<void> = Promise.resolve();

/** Options of {@link NdjsonMessageWriter}. */
export interface NdjsonWriterOptions {
  /**
   * A batch is handed to the stream as soon as it holds this many characters, before the tick
   * ends, so the reader can start on it while the rest is produced. Default 16 384.
   */
  batchChars?: number;
}

const DEFAULT_BATCH_CHARS = 16_384;

/**
 * Writes newline-delimited JSON (docs/protocol.md, "Wire format") to a byte stream. Messages written in the same tick are
 * joined and handed to the stream in one `write()` call, which is what makes a busy connection
 * cheap: one syscall carries many small messages. A batch that reaches `batchChars` is written at
 * once (the rest of the tick's messages follow in the next write); while the stream reports
 * backpressure, messages keep accumulating and go out together on 'drain'.
 *
 * The end-of-tick flush is a microtask (`then` on a resolved promise). Measured with
 * bench/peer-echo.ts against a child echo: both it and `setImmediate` send one write per batch at
 * concurrency 16–256 (every continuation of a read runs before the flush microtask), but at
 * concurrency 1–4 `setImmediate` costs an extra event-loop phase per round trip (≈20 vs ≈16 µs
 * CPU at c=1, ≈10 vs ≈6.5 at c=4).
 *
 * Why 16 KiB (bench/HISTORY.md, "Fifth pass"): at maxConcurrency 256 the runtime's tick
 * produces ≈73 KB of requests. Written whole, the server's 64 KiB reads split it anyway and the two
 * processes mostly take turns; written in 16–32 KiB pieces, the server starts on the first piece
 * while the runtime produces the next: +11–24% items/s at the same CPU per item (A/B, 8 rounds
 * each). 48 KiB gained nothing; smaller batches (C ≤ 16, or the server's answers) are unaffected.
 */
export class NdjsonMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private batch = '';
  private scheduled = false;
  private blocked = false;
  private ended = false;
  private errorCount = 0;
  private readonly batchChars: number;

  constructor(
    private readonly writable: NodeJS.WritableStream,
    options: NdjsonWriterOptions = {},
  ) {
    super();
    this.batchChars = positiveInt('batchChars', options.batchChars, DEFAULT_BATCH_CHARS);
    writable.on('error', this.onStreamError);
    writable.on('close', this.onStreamClose);
  }

  /** Queues one message for this tick's batch; serialisation errors are reported via `onError`. */
  write(msg: Message): Promise<void> {
    if (this.ended) return WRITTEN;
    let line: string;
    try {
      // JSON.stringify's text; requests of RpcPeer assemble it faster themselves (protocol/wire-json.ts).
      line = messageJson(msg);
    } catch (error) {
      // The message (e.g. a result holding a BigInt or a cycle) cannot go on the wire; the owner decides.
      this.fireError(error, msg, ++this.errorCount);
      return handledRejection(error);
    }
    this.batch += line + '\n';
    if (this.batch.length >= this.batchChars) this.writeBatch();
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      void RESOLVED.then(this.flush);
    }
    return WRITTEN;
  }

  /** Flushes what is queued, then ends the stream. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const rest = this.batch;
    this.batch = '';
    if (rest !== '') this.writable.write(rest);
    this.writable.end();
  }

  override dispose(): void {
    this.writable.off('error', this.onStreamError);
    this.writable.off('close', this.onStreamClose);
    super.dispose();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    this.writeBatch();
  };

  /** Hands what is queued to the stream, unless it reported backpressure (then 'drain' does). */
  private writeBatch(): void {
    if (this.blocked || this.ended || this.batch === '') return;
    const data = this.batch;
    this.batch = '';
    // A failed write surfaces as the stream's 'error' event, handled below.
    if (!this.writable.write(data)) {
      this.blocked = true;
      this.writable.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.writeBatch();
  };

  private readonly onStreamError = (error: unknown): void => {
    this.fireError(error, undefined, ++this.errorCount);
  };

  private readonly onStreamClose = (): void => {
    this.ended = true;
    this.batch = '';
    this.fireClose();
  };
}

/** A rejected promise that never counts as unhandled: callers may await it, or not. */
export function handledRejection(error: unknown): Promise<never> {
  const p = Promise.reject(error);
  p.catch(() => undefined);
  return p;
}
