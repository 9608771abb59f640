import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { byteSize } from '../../src/options.js';
import { DEFAULT_MAX_MESSAGE_BYTES, NdjsonMessageReader } from '../../src/transport/ndjson-reader.js';
import { captureLogger, LEVEL } from './capture-logger.js';

/** Feeds `chunks` into a reader and resolves with every delivered message once the stream ends. */
function readAll(chunks: Array<Buffer | string>, options: { maxMessageBytes?: number } = {}) {
  const stream = new PassThrough();
  const { logger, records } = captureLogger();
  const reader = new NdjsonMessageReader(stream, { ...options, logger, name: 'test-stream' });
  const messages: unknown[] = [];
  let dataEvents = 0;
  stream.on('data', () => dataEvents++);
  const closed = new Promise<void>((resolve) => reader.onClose(() => resolve()));
  reader.listen((m) => messages.push(m));
  for (const c of chunks) stream.write(c);
  stream.end();
  return closed.then(() => ({ messages, records, dataEvents }));
}

const msg = (id: number, extra: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'm', params: extra });

describe('NdjsonMessageReader', () => {
  it('delivers each line as one parsed message', async () => {
    const { messages } = await readAll([`${JSON.stringify(msg(1))}\n${JSON.stringify(msg(2))}\n`]);
    expect(messages).toEqual([msg(1), msg(2)]);
  });

  it('reassembles messages fed one byte at a time', async () => {
    const text = [msg(1), msg(2, { s: 'x'.repeat(50) }), msg(3)].map((m) => JSON.stringify(m) + '\n').join('');
    const bytes = Buffer.from(text);
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const { messages, dataEvents } = await readAll(chunks);
    expect(dataEvents).toBe(bytes.length);
    expect(messages).toEqual([msg(1), msg(2, { s: 'x'.repeat(50) }), msg(3)]);
  });

  it('keeps multi-byte UTF-8 characters intact wherever a chunk boundary falls', async () => {
    const value = msg(1, { text: 'héllo wörld 🌍 日本語 ✓' });
    const bytes = Buffer.from(JSON.stringify(value) + '\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { messages } = await readAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(messages).toEqual([value]);
    }
  });

  it('tolerates \\r\\n line endings and skips blank lines silently', async () => {
    const { messages, records } = await readAll([
      `\n${JSON.stringify(msg(1))}\r\n\r\n   \n`,
      `\n${JSON.stringify(msg(2))}\r`,
      `\n`,
    ]);
    expect(messages).toEqual([msg(1), msg(2)]);
    expect(records.filter((r) => r.level >= LEVEL.warn)).toEqual([]);
  });

  it('skips lines that are not JSON, logs them truncated, and still delivers the following lines', async () => {
    const garbage = 'not json at all ' + 'z'.repeat(1000);
    const { messages, records } = await readAll([`${garbage}\n{"broken": \n${JSON.stringify(msg(1))}\n`]);
    expect(messages).toEqual([msg(1)]);
    const warnings = records.filter((r) => r.level === LEVEL.warn);
    expect(warnings).toHaveLength(2);
    expect(warnings[0].msg).toContain('test-stream');
    expect(String(warnings[0].line).length).toBeLessThanOrEqual(200);
    expect(String(warnings[0].line)).toMatch(/^not json at all/);
  });

  it('drops a line over maxMessageBytes arriving in pieces, logs an error, and delivers the next line', async () => {
    const big = JSON.stringify(msg(1, { s: 'y'.repeat(500) }));
    const pieces = [big.slice(0, 60), big.slice(60, 200), big.slice(200), `\n${JSON.stringify(msg(2))}\n`];
    const { messages, records } = await readAll(pieces, { maxMessageBytes: 100 });
    expect(messages).toEqual([msg(2)]);
    const errors = records.filter((r) => r.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toMatch(/maxMessageBytes \(100\)/);
  });

  it('drops an over-long line that arrives in one chunk', async () => {
    const big = JSON.stringify(msg(1, { s: 'y'.repeat(500) }));
    const { messages, records } = await readAll([`${big}\n${JSON.stringify(msg(2))}\n`], { maxMessageBytes: 100 });
    expect(messages).toEqual([msg(2)]);
    expect(records.filter((r) => r.level === LEVEL.error)).toHaveLength(1);
  });

  it('accepts a line of exactly maxMessageBytes bytes', async () => {
    const line = JSON.stringify(msg(1, { s: 'é' }));
    const bytes = Buffer.byteLength(line);
    const { messages } = await readAll([line.slice(0, 5), line.slice(5) + '\r\n'], { maxMessageBytes: bytes });
    expect(messages).toEqual([msg(1, { s: 'é' })]);
  });

  it('delivers a last line that lacks its newline when the stream ends, then closes', async () => {
    const { messages } = await readAll([`${JSON.stringify(msg(1))}\n${JSON.stringify(msg(2))}`]);
    expect(messages).toEqual([msg(1), msg(2)]);
  });

  it('fires onError when the stream fails', async () => {
    const stream = new PassThrough();
    const reader = new NdjsonMessageReader(stream);
    const error = new Promise<Error>((resolve) => reader.onError(resolve));
    reader.listen(() => undefined);
    stream.destroy(new Error('pipe broke'));
    expect((await error).message).toBe('pipe broke');
  });

  it('keeps reading when the message listener throws', async () => {
    const stream = new PassThrough();
    const reader = new NdjsonMessageReader(stream);
    const seen: unknown[] = [];
    const closed = new Promise<void>((resolve) => reader.onClose(() => resolve()));
    reader.listen((m) => {
      seen.push(m);
      throw new Error('listener bug');
    });
    stream.end(`${JSON.stringify(msg(1))}\n${JSON.stringify(msg(2))}\n`);
    await closed;
    expect(seen).toEqual([msg(1), msg(2)]);
  });

  it('refuses a maxMessageBytes that is not a positive integer', () => {
    const validateMaxMessageBytes = (value: number | undefined) => byteSize('maxMessageBytes', value, DEFAULT_MAX_MESSAGE_BYTES);
    expect(() => new NdjsonMessageReader(new PassThrough(), { maxMessageBytes: 0 })).toThrow('maxMessageBytes must be a positive integer, got 0');
    expect(() => validateMaxMessageBytes(0)).toThrow(/positive integer/);
    expect(() => validateMaxMessageBytes(1.5)).toThrow(/positive integer/);
    expect(validateMaxMessageBytes(undefined)).toBe(64 * 1024 * 1024);
  });
});
