import { AbstractMessageReader, Disposable, type DataCallback, type Message } from 'vscode-jsonrpc/node';
import { silentLogger, type Logger } from '../log.js';

/** Options of {@link NdjsonMessageReader}. */
export interface NdjsonReaderOptions {
  /** Longest accepted line in bytes, newline excluded; longer lines are dropped with a logged error. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Where skipped lines are reported. Default: silent. */
  logger?: Logger;
  /** Names the stream in log lines (e.g. the plugin name). Default `ndjson`. */
  name?: string;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const LOGGED_LINE_CHARS = 200;

/**
 * Reads newline-delimited JSON (SPEC §2) from a byte stream and hands each parsed value to the
 * listener. Lines are split on raw bytes before decoding: `\n` never occurs inside a multi-byte
 * UTF-8 sequence, so a character split across chunks is always reassembled within its line, and
 * the size cap counts real bytes. Lines that are not JSON are logged and skipped, never fatal.
 */
export class NdjsonMessageReader extends AbstractMessageReader {
  private readonly maxMessageBytes: number;
  private readonly logger: Logger;
  private readonly name: string;
  private callback: DataCallback | undefined;
  /** Pieces of the line still waiting for its newline, and their total length. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** True while dropping the rest of an over-long line up to its newline. */
  private discarding = false;
  private closed = false;

  constructor(
    private readonly readable: NodeJS.ReadableStream,
    options: NdjsonReaderOptions = {},
  ) {
    super();
    this.maxMessageBytes = validateMaxMessageBytes(options.maxMessageBytes);
    this.logger = options.logger ?? silentLogger;
    this.name = options.name ?? 'ndjson';
  }

  /** Starts reading; the callback receives every parsed line. To be called once. */
  listen(callback: DataCallback): Disposable {
    if (this.callback !== undefined) throw new Error(`NdjsonMessageReader(${this.name}): listen() called twice`);
    this.callback = callback;
    this.readable.on('data', this.onData);
    this.readable.on('end', this.onEnd);
    this.readable.on('close', this.onEnd);
    this.readable.on('error', this.onStreamError);
    return Disposable.create(() => this.detach());
  }

  override dispose(): void {
    this.detach();
    super.dispose();
  }

  private detach(): void {
    this.readable.off('data', this.onData);
    this.readable.off('end', this.onEnd);
    this.readable.off('close', this.onEnd);
    this.readable.off('error', this.onStreamError);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let nl = buf.indexOf(NEWLINE, start);
    while (nl !== -1) {
      if (this.discarding) {
        this.discarding = false;
      } else if (this.partialBytes === 0) {
        this.emitLine(buf, start, nl);
      } else {
        this.partial.push(buf.subarray(start, nl));
        const line = Buffer.concat(this.partial, this.partialBytes + nl - start);
        this.partial = [];
        this.partialBytes = 0;
        this.emitLine(line, 0, line.length);
      }
      start = nl + 1;
      nl = buf.indexOf(NEWLINE, start);
    }
    if (start < buf.length && !this.discarding) this.keepPartial(buf.subarray(start));
  };

  /** Buffers the unterminated tail of a chunk, or starts discarding it once it exceeds the cap. */
  private keepPartial(piece: Buffer): void {
    this.partialBytes += piece.length;
    if (this.partialBytes > this.maxMessageBytes + 1) {
      this.logger.error(
        { stream: this.name, maxMessageBytes: this.maxMessageBytes },
        `${this.name}: dropping a line longer than maxMessageBytes (${this.maxMessageBytes})`,
      );
      this.partial = [];
      this.partialBytes = 0;
      this.discarding = true;
      return;
    }
    this.partial.push(piece);
  }

  /** Decodes, parses and delivers the line `buf[start, end)`; a trailing `\r` is tolerated. */
  private emitLine(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CARRIAGE_RETURN) end--;
    if (end === start) return;
    if (end - start > this.maxMessageBytes) {
      this.logger.error(
        { stream: this.name, bytes: end - start, maxMessageBytes: this.maxMessageBytes },
        `${this.name}: dropped a line of ${end - start} bytes, over maxMessageBytes (${this.maxMessageBytes})`,
      );
      return;
    }
    const text = buf.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() !== '') {
        this.logger.warn(
          { stream: this.name, line: text.slice(0, LOGGED_LINE_CHARS) },
          `${this.name}: skipped a line that is not JSON`,
        );
      }
      return;
    }
    try {
      this.callback!(value as Message);
    } catch (error) {
      // A listener bug must not tear down the stream; the next line is still delivered.
      this.logger.error({ stream: this.name, err: error }, `${this.name}: message listener threw`);
    }
  }

  private readonly onEnd = (): void => {
    if (this.closed) return;
    this.closed = true;
    // Tolerate a last line without its newline.
    if (this.partialBytes > 0 && !this.discarding) {
      const line = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
      this.partialBytes = 0;
      this.emitLine(line, 0, line.length);
    }
    this.fireClose();
  };

  private readonly onStreamError = (error: unknown): void => {
    this.fireError(error);
  };
}

/** Checks a `maxMessageBytes` option and applies its default. */
export function validateMaxMessageBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`maxMessageBytes must be a positive integer, got ${String(value)}`);
  }
  return value;
}
