import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc';
import { NdjsonMessageWriter } from '../../src/transport/ndjson-writer.js';
import { settle } from '../support/wait-for.js';

const msg = (id: number): Message => ({ jsonrpc: '2.0', id, method: 'm' }) as Message;

/** A writable that records each write() call and completes writes only when told to. */
function recordingStream(options: { highWaterMark?: number; hold?: boolean } = {}) {
  const writes: string[] = [];
  const held: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, callback) {
      writes.push(chunk.toString());
      if (options.hold) held.push(() => callback());
      else callback();
    },
  });
  const release = () => {
    for (const done of held.splice(0)) done();
  };
  return { stream, writes, release };
}

describe('NdjsonMessageWriter', () => {
  it('sends every message written in one tick in a single write() call', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    for (let i = 1; i <= 100; i++) void writer.write(msg(i));
    await settle();
    expect(writes).toHaveLength(1);
    expect(writes[0].split('\n').slice(0, -1).map((l) => JSON.parse(l).id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(writes[0].endsWith('\n')).toBe(true);
  });

  it('hands a batch to the stream as soon as it reaches batchChars, the rest at the end of the tick', async () => {
    const { stream, writes } = recordingStream();
    const line = `${JSON.stringify(msg(1))}\n`.length; // every id below has one digit
    const writer = new NdjsonMessageWriter(stream, { batchChars: 3 * line });
    for (let i = 1; i <= 7; i++) void writer.write(msg(i));
    // Two full batches are written synchronously, before the tick ends.
    expect(writes.map((w) => w.length)).toEqual([3 * line, 3 * line]);
    await settle();
    expect(writes.map((w) => w.length)).toEqual([3 * line, 3 * line, line]);
    expect(writes.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops writing full batches early while the stream reports backpressure', async () => {
    const { stream, writes, release } = recordingStream({ highWaterMark: 10, hold: true });
    const writer = new NdjsonMessageWriter(stream, { batchChars: 1 });
    for (let i = 1; i <= 4; i++) void writer.write(msg(i));
    await settle();
    // The first message filled the stream's buffer; the others wait for 'drain' and go together.
    expect(writes).toHaveLength(1);
    release();
    await settle();
    expect(writes.map((w) => w.split('\n').slice(0, -1).map((l) => JSON.parse(l).id))).toEqual([[1], [2, 3, 4]]);
  });

  it('refuses a batchChars that is not a positive integer', () => {
    const { stream } = recordingStream();
    expect(() => new NdjsonMessageWriter(stream, { batchChars: 0 })).toThrow(/batchChars must be a positive integer, got 0/);
    expect(() => new NdjsonMessageWriter(stream, { batchChars: 1.5 })).toThrow(RangeError);
  });

  it('writes the messages of later ticks in later calls, in order', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    void writer.write(msg(1));
    await settle();
    void writer.write(msg(2));
    void writer.write(msg(3));
    await settle();
    expect(writes).toEqual([`${JSON.stringify(msg(1))}\n`, `${JSON.stringify(msg(2))}\n${JSON.stringify(msg(3))}\n`]);
  });

  it('holds messages back while the stream reports backpressure and sends them together on drain', async () => {
    const { stream, writes, release } = recordingStream({ highWaterMark: 10, hold: true });
    const writer = new NdjsonMessageWriter(stream);
    void writer.write(msg(1));
    await settle();
    expect(writes).toHaveLength(1);
    for (let i = 2; i <= 5; i++) {
      void writer.write(msg(i));
      await settle();
    }
    // Blocked: nothing reached the stream since the first write.
    expect(writes).toHaveLength(1);
    release();
    await settle();
    expect(writes).toHaveLength(2);
    expect(writes[1].split('\n').slice(0, -1).map((l) => JSON.parse(l).id)).toEqual([2, 3, 4, 5]);
  });

  it('reports a message that cannot be serialised through onError and keeps writing the others', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    const errors: Array<[Error, Message | undefined]> = [];
    writer.onError(([error, message]) => errors.push([error, message]));
    const bad = { jsonrpc: '2.0', id: 2, result: { n: 10n } } as unknown as Message;
    void writer.write(msg(1));
    await expect(writer.write(bad)).rejects.toThrow(/BigInt/);
    void writer.write(msg(3));
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0][1]).toBe(bad);
    expect(writes.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l).id)).toEqual([1, 3]);
  });

  it('returns the same settled promise for every successful write', () => {
    const writer = new NdjsonMessageWriter(new PassThrough());
    expect(writer.write(msg(1))).toBe(writer.write(msg(2)));
  });

  it('flushes what is queued when ended, then ends the stream', async () => {
    const { stream, writes } = recordingStream();
    const finished = new Promise<void>((resolve) => stream.on('finish', () => resolve()));
    const writer = new NdjsonMessageWriter(stream);
    void writer.write(msg(1));
    void writer.write(msg(2));
    writer.end();
    await finished;
    expect(writes.join('')).toBe(`${JSON.stringify(msg(1))}\n${JSON.stringify(msg(2))}\n`);
  });

  it('fires onError when the stream fails', async () => {
    const stream = new Writable({
      write(_chunk, _enc, callback) {
        callback(new Error('EPIPE'));
      },
    });
    const writer = new NdjsonMessageWriter(stream);
    const error = new Promise<[Error, Message | undefined, number | undefined]>((resolve) => writer.onError(resolve));
    void writer.write(msg(1));
    const [e, message] = await error;
    expect(e.message).toBe('EPIPE');
    expect(message).toBeUndefined();
  });
});
