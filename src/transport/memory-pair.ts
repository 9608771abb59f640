import {
  AbstractMessageReader,
  AbstractMessageWriter,
  Disposable,
  type DataCallback,
  type Message,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc/node';
import { handledRejection } from './ndjson-writer.js';

/** One end of an in-memory connection. */
export interface MemoryTransportEnd {
  reader: MessageReader;
  writer: MessageWriter;
  /** Closes this end and the other one; same as `writer.end()`. */
  close(): void;
}

/**
 * Two linked in-memory ends: what one end's writer writes, the other end's reader receives on a
 * later microtask. Every message goes through a JSON round trip, so a value that would not survive
 * the wire (undefined fields, Dates, BigInts, cycles) behaves here as it would over stdio.
 * Closing either end closes both readers, after the messages already written are delivered.
 */
export function createMemoryTransportPair(): [MemoryTransportEnd, MemoryTransportEnd] {
  const readerA = new MemoryMessageReader();
  const readerB = new MemoryMessageReader();
  const link = new MemoryLink(readerA, readerB);
  const writerA = new MemoryMessageWriter(readerB, link);
  const writerB = new MemoryMessageWriter(readerA, link);
  link.writers = [writerA, writerB];
  return [
    { reader: readerA, writer: writerA, close: () => link.close() },
    { reader: readerB, writer: writerB, close: () => link.close() },
  ];
}

/** Closes both ends once. */
class MemoryLink {
  writers: MemoryMessageWriter[] = [];
  closed = false;
  constructor(private readonly a: MemoryMessageReader, private readonly b: MemoryMessageReader) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Queued behind the deliveries already scheduled, so nothing written before close is lost.
    queueMicrotask(() => {
      this.a.end();
      this.b.end();
      for (const w of this.writers) w.closed();
    });
  }
}

class MemoryMessageReader extends AbstractMessageReader {
  private callback: DataCallback | undefined;
  /** Messages that arrived before listen(). */
  private backlog: Message[] = [];
  private ended = false;
  private closeFired = false;

  listen(callback: DataCallback): Disposable {
    if (this.callback !== undefined) throw new Error('MemoryMessageReader: listen() called twice');
    this.callback = callback;
    const backlog = this.backlog;
    this.backlog = [];
    for (const m of backlog) callback(m);
    if (this.ended) this.fireCloseOnce();
    return Disposable.create(() => {
      this.callback = undefined;
    });
  }

  deliver(message: Message): void {
    if (this.ended) return;
    if (this.callback) this.callback(message);
    else this.backlog.push(message);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.callback) this.fireCloseOnce();
  }

  private fireCloseOnce(): void {
    if (this.closeFired) return;
    this.closeFired = true;
    this.fireClose();
  }
}

class MemoryMessageWriter extends AbstractMessageWriter implements MessageWriter {
  constructor(private readonly target: MemoryMessageReader, private readonly link: MemoryLink) {
    super();
  }

  write(msg: Message): Promise<void> {
    if (this.link.closed) return Promise.resolve();
    let copy: Message;
    try {
      copy = JSON.parse(JSON.stringify(msg)) as Message;
    } catch (error) {
      this.fireError(error, msg, 1);
      return handledRejection(error);
    }
    queueMicrotask(() => this.target.deliver(copy));
    return Promise.resolve();
  }

  end(): void {
    this.link.close();
  }

  closed(): void {
    this.fireClose();
  }
}
