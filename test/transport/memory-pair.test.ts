import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';

describe('createMemoryTransportPair', () => {
  it('delivers what one end writes to the other end, asynchronously and in order', async () => {
    const [a, b] = createMemoryTransportPair();
    const got: Message[] = [];
    b.reader.listen((m) => got.push(m));
    void a.writer.write({ jsonrpc: '2.0', id: 1, method: 'x' } as Message);
    void a.writer.write({ jsonrpc: '2.0', id: 2, method: 'x' } as Message);
    expect(got).toEqual([]);
    await Promise.resolve();
    await Promise.resolve();
    expect(got.map((m) => (m as unknown as { id: number }).id)).toEqual([1, 2]);
  });

  it('sends a JSON copy, so values that do not survive the wire change as they would over stdio', async () => {
    const [a, b] = createMemoryTransportPair();
    const got = new Promise<Message>((resolve) => b.reader.listen(resolve));
    const sent = { jsonrpc: '2.0', id: 1, result: { when: new Date(0), gone: undefined } } as unknown as Message;
    void a.writer.write(sent);
    const received = await got;
    expect(received).not.toBe(sent);
    expect(received).toEqual({ jsonrpc: '2.0', id: 1, result: { when: '1970-01-01T00:00:00.000Z' } });
  });

  it('refuses a value that cannot be serialised, through onError', async () => {
    const [a] = createMemoryTransportPair();
    const errors: Error[] = [];
    a.writer.onError(([e]) => errors.push(e));
    await expect(a.writer.write({ jsonrpc: '2.0', id: 1, result: 1n } as unknown as Message)).rejects.toThrow();
    expect(errors).toHaveLength(1);
  });

  it('keeps messages that arrive before listen() for the listener', async () => {
    const [a, b] = createMemoryTransportPair();
    void a.writer.write({ jsonrpc: '2.0', method: 'early' } as Message);
    await new Promise((r) => setImmediate(r));
    const got = new Promise<Message>((resolve) => b.reader.listen(resolve));
    expect(await got).toEqual({ jsonrpc: '2.0', method: 'early' });
  });

  it('closes both readers when one end closes, after delivering what was written before', async () => {
    const [a, b] = createMemoryTransportPair();
    const order: string[] = [];
    a.reader.listen(() => undefined);
    b.reader.listen(() => order.push('message'));
    const aClosed = new Promise<void>((r) => a.reader.onClose(() => r()));
    const bClosed = new Promise<void>((r) => b.reader.onClose(() => r(void order.push('closed'))));
    void a.writer.write({ jsonrpc: '2.0', method: 'last' } as Message);
    a.close();
    await Promise.all([aClosed, bClosed]);
    expect(order).toEqual(['message', 'closed']);
  });
});
