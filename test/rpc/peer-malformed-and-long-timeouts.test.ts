import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { RequestTimeoutError } from '../../src/errors.js';
import { SWEEP_INTERVAL_MS, SWEPT_TIMEOUT_MIN_MS } from '../../src/rpc/peer.js';
import { captureLogger, LEVEL } from '../transport/capture-logger.js';
import { Add, peerWithRawEnd } from './fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Lets queued deliveries of the memory pair run. */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('RpcPeer: malformed messages', () => {
  it('drops a response carrying both result and error, a non-object and an array, logging each truncated, and answers none', async () => {
    const { logger, records } = captureLogger();
    const { peer, raw } = peerWithRawEnd({ logger });
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(10_000), error: { code: 1, message: 'm' } });
    raw.send(42);
    raw.send([{ jsonrpc: '2.0', id: 2, result: 1 }]);
    raw.send({ jsonrpc: '2.0', id: 3 });
    await turns();
    expect(raw.received).toEqual([]);
    const dropped = records.filter((r) => r.level === LEVEL.warn && r.msg === 'raw: dropped an invalid message');
    expect(dropped.map((r) => r.message)).toEqual([
      `{"jsonrpc":"2.0","id":1,"result":"${'x'.repeat(59)}…,"error":{…}}`,
      '42',
      'an array of 1',
      '{"jsonrpc":"2.0","id":3}',
    ]);
    for (const r of dropped) expect((r.message as string).length).toBeLessThanOrEqual(200);
  });

  it('still answers an invalid request (one with a method) with -32600 and its id', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 9, method: 'test/add', result: 1 });
    const answer = await raw.next((m) => m.id === 9);
    expect(answer.error.code).toBe(ErrorCodes.InvalidRequest);
  });
});

describe('RpcPeer: long timeouts share one sweep', () => {
  it('times out a request of 10 s or more at a sweep tick, never before its time, and sends $/cancelRequest', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    const timeoutMs = SWEPT_TIMEOUT_MIN_MS;
    let failed: unknown;
    const request = peer.sendRequest(Add, { a: 1, b: 2 }, { timeoutMs }).catch((e: unknown) => (failed = e));
    const sent = await raw.next((m) => m.method === 'test/add');
    await vi.advanceTimersByTimeAsync(timeoutMs - SWEEP_INTERVAL_MS);
    expect(failed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(3 * SWEEP_INTERVAL_MS);
    await request;
    expect(failed).toBeInstanceOf(RequestTimeoutError);
    expect((failed as RequestTimeoutError).timeoutMs).toBe(timeoutMs);
    await raw.next((m) => m.method === '$/cancelRequest' && m.params.id === sent.id);
    expect(peer.pendingCount).toBe(0);
  });

  it('leaves answered requests alone and stops sweeping once none with a long timeout is pending', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    const request = peer.sendRequest(Add, { a: 1, b: 2 }, { timeoutMs: 60_000 });
    const sent = await raw.next((m) => m.method === 'test/add');
    raw.send({ jsonrpc: '2.0', id: sent.id, result: { sum: 3 } });
    await expect(request).resolves.toEqual({ sum: 3 });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(SWEEP_INTERVAL_MS);
    expect(vi.getTimerCount()).toBe(0);
    expect(raw.received.filter((m) => m.method === '$/cancelRequest')).toEqual([]);
  });
});
