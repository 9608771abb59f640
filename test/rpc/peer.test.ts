import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCodes, NotificationMethod, RequestMethod, RpcError } from '../../protocol/index.js';
import { ConnectionClosedError, RequestCancelledError, RequestTimeoutError } from '../../src/errors.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';
import { captureLogger, LEVEL } from '../transport/capture-logger.js';
import { Add, Gate, Hold, Note, peerPair, peerWithRawEnd } from './fixtures.js';
import { settle } from '../support/wait-for.js';

describe('RpcPeer requests', () => {
  it('serves requests in both directions at once and matches out-of-order answers to their callers', async () => {
    const { a, b } = peerPair();
    const gateA = new Gate();
    const gateB = new Gate();
    a.onRequest(Hold, async ({ key }) => (await gateA.wait(key), { key, by: 'A' }));
    b.onRequest(Hold, async ({ key }) => (await gateB.wait(key), { key, by: 'B' }));
    a.listen();
    b.listen();

    const settled: string[] = [];
    const track = <T extends { key: string; by: string }>(p: Promise<T>) => p.then((r) => (settled.push(`${r.by}:${r.key}`), r));
    const fromA = ['a1', 'a2', 'a3'].map((key) => track(a.sendRequest(Hold, { key })));
    const fromB = ['b1', 'b2', 'b3'].map((key) => track(b.sendRequest(Hold, { key })));
    await settle();
    expect(a.pendingCount).toBe(3);
    expect(b.inFlightCount).toBe(3);
    expect(gateB.entered).toEqual(['a1', 'a2', 'a3']);
    expect(gateA.entered).toEqual(['b1', 'b2', 'b3']);

    for (const [gate, key] of [[gateB, 'a3'], [gateA, 'b2'], [gateB, 'a1'], [gateA, 'b3'], [gateA, 'b1'], [gateB, 'a2']] as const) {
      gate.open(key);
      await settle();
    }
    expect(await Promise.all(fromA)).toEqual(['a1', 'a2', 'a3'].map((key) => ({ key, by: 'B' })));
    expect(await Promise.all(fromB)).toEqual(['b1', 'b2', 'b3'].map((key) => ({ key, by: 'A' })));
    expect(settled).toEqual(['B:a3', 'A:b2', 'B:a1', 'A:b3', 'A:b1', 'B:a2']);
    expect(a.pendingCount + a.inFlightCount + b.pendingCount + b.inFlightCount).toBe(0);
  });

  it('numbers its requests with integers from 1', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    void peer.sendRequest(Add, { a: 1, b: 2 });
    void peer.sendRequest(Add, { a: 3, b: 4 });
    await raw.next((m) => m.id === 2);
    expect(raw.received.map((m) => m.id)).toEqual([1, 2]);
    expect(raw.received[0]).toEqual({ jsonrpc: '2.0', id: 1, method: 'test/add', params: { a: 1, b: 2 } });
  });

  it('answers a synchronous handler with its return value, and undefined as null', async () => {
    const Nothing = new RequestMethod('test/nothing', z.object({}), z.null());
    const { a, b } = peerPair();
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    b.onRequest(Nothing, () => undefined as unknown as null);
    a.listen();
    b.listen();
    expect(await a.sendRequest(Add, { a: 2, b: 40 })).toEqual({ sum: 42 });
    expect(await a.sendRequest(Nothing, {})).toBeNull();
  });

  it('answers an unknown method with -32601 naming it', async () => {
    const { a, b } = peerPair();
    a.listen();
    b.listen();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).rejects.toMatchObject({
      code: ErrorCodes.MethodNotFound,
      message: 'Method not found: test/add',
    });
  });

  it('answers params that fail the schema with -32602 naming the field, without calling the handler', async () => {
    const { a, b } = peerPair();
    let called = false;
    b.onRequest(Add, () => ((called = true), { sum: 0 }));
    a.listen();
    b.listen();
    const error = await a.sendRequest(Add, { a: 1, b: 'two' } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: ErrorCodes.InvalidParams, message: expect.stringContaining('field "b"') });
    expect((error as RpcError).data).toMatchObject({ method: 'test/add', issues: [{ field: 'b' }] });
    expect(called).toBe(false);
  });

  it('passes an RpcError thrown by a handler through with its code, message and data', async () => {
    const { a, b } = peerPair();
    b.onRequest(Add, () => {
      throw RpcError.notFound('Run not found', { runId: 'r1' });
    });
    a.listen();
    b.listen();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).rejects.toMatchObject({
      name: 'RpcError',
      code: ErrorCodes.NotFound,
      message: 'Run not found',
      data: { runId: 'r1' },
    });
  });

  it('answers any other handler failure with -32603 carrying its message, and logs it', async () => {
    const { logger, records } = captureLogger();
    const { a, b } = peerPair({}, { logger });
    b.onRequest(Add, async () => {
      throw new Error('disk on fire');
    });
    a.listen();
    b.listen();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).rejects.toMatchObject({ code: ErrorCodes.InternalError, message: 'disk on fire' });
    expect(records.some((r) => r.level === LEVEL.error && r.msg.includes('test/add'))).toBe(true);
  });

  it('rejects a result that fails the result schema with -32603 naming the method and field', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    const call = peer.sendRequest(Add, { a: 1, b: 2 });
    await raw.next((m) => m.id === 1);
    raw.send({ jsonrpc: '2.0', id: 1, result: { sum: 'three' } });
    await expect(call).rejects.toMatchObject({
      code: ErrorCodes.InternalError,
      message: expect.stringMatching(/test\/add.*field "sum"/),
    });
  });

  it('rejects a request whose params cannot be serialised, without sending it', async () => {
    const { peer, raw } = peerWithRawEnd();
    await expect(peer.sendRequest(Add, { a: 1n, b: 2 } as never)).rejects.toThrow(/BigInt/);
    expect(peer.pendingCount).toBe(0);
    peer.listen();
    await settle();
    expect(raw.received).toEqual([]);
  });

  it('answers -32603 when a handler result cannot be serialised', async () => {
    const { a, b } = peerPair();
    b.onRequest(Add, () => ({ sum: 10n }) as never);
    a.listen();
    b.listen();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).rejects.toMatchObject({
      code: ErrorCodes.InternalError,
      message: expect.stringContaining('could not be serialised'),
    });
    expect(b.inFlightCount).toBe(0);
  });
});

describe('RpcPeer cancellation', () => {
  for (const direction of ['A→B', 'B→A'] as const) {
    it(`cancels a request ${direction}: the handler sees its signal abort, the caller gets RequestCancelledError`, async () => {
      const pair = peerPair();
      const [caller, callee] = direction === 'A→B' ? [pair.a, pair.b] : [pair.b, pair.a];
      let handlerSignal: AbortSignal | undefined;
      const aborted = new Promise<void>((resolve) => {
        callee.onRequest(Hold, ({ key }, ctx) => {
          handlerSignal = ctx.signal;
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => (resolve(), reject(new Error('stopped')))));
        });
      });
      caller.listen();
      callee.listen();
      const controller = new AbortController();
      const call = caller.sendRequest(Hold, { key: 'k' }, { signal: controller.signal });
      await settle();
      expect(callee.inFlightCount).toBe(1);
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
      expect(caller.pendingCount).toBe(0);
      await aborted;
      expect(handlerSignal!.aborted).toBe(true);
      await settle();
      expect(callee.inFlightCount).toBe(0);
    });
  }

  it('watches a signal shared by many requests with one listener, released once they settle', async () => {
    const { a, b } = peerPair();
    const gate = new Gate();
    b.onRequest(Hold, async ({ key }) => (await gate.wait(key), { key, by: 'B' }));
    a.listen();
    b.listen();
    const controller = new AbortController();
    const keys = Array.from({ length: 20 }, (_, i) => String(i));
    const answered = keys.slice(0, 5).map((key) => a.sendRequest(Hold, { key }, { signal: controller.signal }));
    await settle();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const key of keys.slice(0, 5)) gate.open(key);
    await Promise.all(answered);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const cancelled = keys.slice(5).map((key) => a.sendRequest(Hold, { key }, { signal: controller.signal }));
    await settle();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    for (const call of cancelled) await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
    expect(a.pendingCount).toBe(0);
  });

  it('cancels exactly the requests still pending when a shared signal aborts, whichever settled before', async () => {
    const { a, b } = peerPair();
    const gate = new Gate();
    b.onRequest(Hold, async ({ key }, ctx) => {
      await Promise.race([gate.wait(key), new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
      return { key, by: 'B' };
    });
    a.listen();
    b.listen();
    const controller = new AbortController();
    const keys = Array.from({ length: 9 }, (_, i) => String(i));
    const calls = keys.map((key) => a.sendRequest(Hold, { key }, { signal: controller.signal }).then(() => 'answered', (e: unknown) => e));
    await settle();
    // First, last and middle ones of the watch's list settle before the abort.
    for (const key of ['0', '4', '8']) gate.open(key);
    await Promise.all([calls[0], calls[4], calls[8]]);
    controller.abort();
    const outcomes = await Promise.all(calls);
    outcomes.forEach((outcome, i) => {
      if ([0, 4, 8].includes(i)) expect(outcome).toBe('answered');
      else expect(outcome).toBeInstanceOf(RequestCancelledError);
    });
    expect(a.pendingCount).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('sends $/cancelRequest with the request id when the signal aborts', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    const controller = new AbortController();
    const call = peer.sendRequest(Add, { a: 1, b: 2 }, { signal: controller.signal });
    await raw.next((m) => m.id === 1);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'RequestCancelledError', method: 'test/add' });
    expect(await raw.next((m) => m.method === '$/cancelRequest')).toEqual({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } });
  });

  it('rejects at once and sends nothing when the signal is already aborted', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    await expect(peer.sendRequest(Add, { a: 1, b: 2 }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RequestCancelledError);
    await settle();
    expect(raw.received).toEqual([]);
    expect(peer.pendingCount).toBe(0);
  });

  it('answers -32800 when a cancelled handler resolves anyway', async () => {
    const { peer, raw } = peerWithRawEnd();
    const gate = new Gate();
    peer.onRequest(Hold, async ({ key }) => (await gate.wait(key), { key, by: 'peer' }));
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 'req-1', method: 'test/hold', params: { key: 'k' } });
    await settle();
    raw.send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'req-1' } });
    await settle();
    gate.open('k');
    expect(await raw.next((m) => m.id === 'req-1')).toEqual({
      jsonrpc: '2.0',
      id: 'req-1',
      error: { code: ErrorCodes.RequestCancelled, message: 'Request cancelled' },
    });
  });

  it('gives a handler that reads its signal only after the cancel an already-aborted signal', async () => {
    const { peer, raw } = peerWithRawEnd();
    const gate = new Gate();
    let abortedWhenRead: boolean | undefined;
    peer.onRequest(Hold, async ({ key }, ctx) => {
      await gate.wait(key);
      abortedWhenRead = ctx.signal.aborted;
      return { key, by: 'peer' };
    });
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 5, method: 'test/hold', params: { key: 'k' } });
    await settle();
    raw.send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 5 } });
    await settle();
    gate.open('k');
    await raw.next((m) => m.id === 5);
    expect(abortedWhenRead).toBe(true);
  });

  it('times out a request: rejects with RequestTimeoutError and cancels it on the other side', async () => {
    const { a, b } = peerPair();
    const cancelled = new Promise<void>((resolve) => {
      b.onRequest(Hold, (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => (resolve(), reject(new Error('x'))))));
    });
    a.listen();
    b.listen();
    const error = await a.sendRequest(Hold, { key: 'k' }, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ method: 'test/hold', timeoutMs: 30 });
    await cancelled;
    expect(a.pendingCount).toBe(0);
  });

  it('refuses a timeoutMs that is not positive', async () => {
    const { a } = peerPair();
    await expect(a.sendRequest(Add, { a: 1, b: 2 }, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    expect(a.pendingCount).toBe(0);
  });
});

describe('RpcPeer closing', () => {
  it('rejects every pending request with ConnectionClosedError naming the peer when the connection closes', async () => {
    const { a, b } = peerPair({ name: 'tools' });
    const gate = new Gate();
    let handlerSignal: AbortSignal | undefined;
    b.onRequest(Hold, async ({ key }, ctx) => {
      handlerSignal = ctx.signal;
      await gate.wait(key);
      return { key, by: 'B' };
    });
    a.listen();
    b.listen();
    const closes: Array<Error | undefined> = [];
    b.onClose((reason) => closes.push(reason));
    const calls = [a.sendRequest(Hold, { key: '1' }), a.sendRequest(Hold, { key: '2' })];
    await settle();
    expect(b.inFlightCount).toBe(2);

    a.close();
    for (const call of calls) {
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionClosedError);
      expect((error as Error).message).toMatch(/tools.*test\/hold/);
    }
    await settle();
    expect(b.isClosed).toBe(true);
    expect(handlerSignal!.aborted).toBe(true);
    expect(closes).toEqual([undefined]);
  });

  it('fires onClose once, with the reason given to close()', async () => {
    const { a } = peerPair();
    a.listen();
    const reasons: Array<Error | undefined> = [];
    a.onClose((r) => reasons.push(r));
    const reason = new Error('shutting down');
    a.close(reason);
    a.close(new Error('again'));
    expect(a.isClosed).toBe(true);
    expect(reasons).toEqual([reason]);
    const late = await new Promise<Error | undefined>((resolve) => a.onClose(resolve));
    expect(late).toBe(reason);
  });

  it('rejects a request sent on a closed peer at once', async () => {
    const { a } = peerPair({ name: 'gone' });
    a.listen();
    a.close();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).rejects.toMatchObject({ name: 'ConnectionClosedError', message: expect.stringContaining('gone') });
    a.sendNotification(Note, { text: 'dropped' });
  });

  it('closes when its reader fails, rejecting pending requests with the failure as cause', async () => {
    const [end] = createMemoryTransportPair();
    const peer = new RpcPeer(end.reader, end.writer, { name: 'p' });
    peer.listen();
    const call = peer.sendRequest(Add, { a: 1, b: 2 });
    const failure = new Error('socket reset');
    (end.reader as unknown as { fireError(e: Error): void }).fireError(failure);
    await expect(call).rejects.toMatchObject({ name: 'ConnectionClosedError', cause: failure });
  });
});

describe('RpcPeer envelopes', () => {
  it('answers an invalid envelope that has an id with -32600', async () => {
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    raw.send({ jsonrpc: '1.0', id: 7, method: 'test/add' });
    const answer = await raw.next((m) => m.id === 7);
    expect(answer.error.code).toBe(ErrorCodes.InvalidRequest);
    expect(answer.error.message).toMatch(/jsonrpc/);
  });

  it('logs and skips an invalid envelope without id, and keeps serving', async () => {
    const { logger, records } = captureLogger();
    const { peer, raw } = peerWithRawEnd({ logger });
    peer.onRequest(Add, ({ a, b }) => ({ sum: a + b }));
    peer.listen();
    raw.send({ hello: 'world' });
    raw.send([1, 2]);
    raw.send({ jsonrpc: '2.0', id: 1, method: 'test/add', params: { a: 1, b: 1 } });
    expect(await raw.next((m) => m.id === 1)).toEqual({ jsonrpc: '2.0', id: 1, result: { sum: 2 } });
    expect(raw.received).toHaveLength(1);
    expect(records.filter((r) => r.level === LEVEL.warn && r.msg.includes('invalid message'))).toHaveLength(2);
  });

  it('ignores a response to an unknown id, and logs it', async () => {
    const { logger, records } = captureLogger();
    const { peer, raw } = peerWithRawEnd({ logger });
    peer.listen();
    const call = peer.sendRequest(Add, { a: 1, b: 2 });
    await raw.next((m) => m.id === 1);
    raw.send({ jsonrpc: '2.0', id: 999, result: { sum: 0 } });
    raw.send({ jsonrpc: '2.0', id: 1, result: { sum: 3 } });
    expect(await call).toEqual({ sum: 3 });
    expect(records.some((r) => r.level === LEVEL.warn && r.id === 999)).toBe(true);
  });

  it('refuses a second request reusing an id that is still in flight', async () => {
    const { peer, raw } = peerWithRawEnd();
    const gate = new Gate();
    peer.onRequest(Hold, async ({ key }) => (await gate.wait(key), { key, by: 'peer' }));
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'test/hold', params: { key: 'x' } });
    raw.send({ jsonrpc: '2.0', id: 1, method: 'test/hold', params: { key: 'y' } });
    const refused = await raw.next((m) => m.id === 1);
    expect(refused.error.code).toBe(ErrorCodes.InvalidRequest);
    gate.open('x');
    await raw.next((m) => m.id === 1 && m.result !== undefined);
  });
});

describe('RpcPeer limits', () => {
  it('refuses requests beyond maxInFlight with -32005 and accepts again once one finishes', async () => {
    const { a, b } = peerPair({}, { maxInFlight: 2 });
    const gate = new Gate();
    b.onRequest(Hold, async ({ key }) => (await gate.wait(key), { key, by: 'B' }));
    a.listen();
    b.listen();
    const first = a.sendRequest(Hold, { key: '1' });
    const second = a.sendRequest(Hold, { key: '2' });
    const third = a.sendRequest(Hold, { key: '3' });
    await expect(third).rejects.toMatchObject({ code: ErrorCodes.ResourceUnavailable, data: { maxInFlight: 2 } });
    gate.open('1');
    await first;
    const fourth = a.sendRequest(Hold, { key: '4' });
    await settle();
    expect(gate.entered).toEqual(['1', '2', '4']);
    gate.open('2');
    gate.open('4');
    expect(await Promise.all([second, fourth])).toEqual([{ key: '2', by: 'B' }, { key: '4', by: 'B' }]);
  });

  it('counts only handlers that wait: answers given at once never take a maxInFlight slot', async () => {
    const { a, b } = peerPair({}, { maxInFlight: 1 });
    const gate = new Gate();
    b.onRequest(Hold, async ({ key }) => (await gate.wait(key), { key, by: 'B' }));
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    a.listen();
    b.listen();
    const held = a.sendRequest(Hold, { key: 'h' });
    await settle();
    expect(b.inFlightCount).toBe(1);
    // The one slot is taken by the waiting handler: any other request is refused meanwhile.
    await expect(a.sendRequest(Hold, { key: 'x' })).rejects.toMatchObject({ code: ErrorCodes.ResourceUnavailable });
    await expect(a.sendRequest(Add, { a: 1, b: 1 })).rejects.toMatchObject({ code: ErrorCodes.ResourceUnavailable });
    // Synchronous answers never occupy it: once it is free, many go through in one batch.
    gate.open('h');
    await held;
    const sums = await Promise.all(Array.from({ length: 10 }, (_, i) => a.sendRequest(Add, { a: i, b: 1 })));
    expect(sums.map((r) => r.sum)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(b.inFlightCount).toBe(0);
  });

  it('aborts the signal of a waiting handler whose synchronous start closed the peer', async () => {
    const { a, b } = peerPair();
    let aborted: Promise<void> | undefined;
    b.onRequest(Hold, (_p, ctx) => {
      const signal = ctx.signal;
      aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      b.close();
      return aborted.then(() => ({ key: 'k', by: 'B' }));
    });
    a.listen();
    b.listen();
    await expect(a.sendRequest(Hold, { key: 'k' })).rejects.toBeInstanceOf(ConnectionClosedError);
    await aborted;
    await settle();
    expect(b.inFlightCount).toBe(0);
  });

  it('refuses a maxInFlight that is not a positive integer', () => {
    expect(() => peerPair({ maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});

describe('RpcPeer notifications', () => {
  it('delivers notifications with parsed params, ignoring unknown methods and invalid params', async () => {
    const { logger, records } = captureLogger();
    const { peer, raw } = peerWithRawEnd({ logger });
    const texts: string[] = [];
    peer.onNotification(Note, ({ text }) => texts.push(text));
    peer.onRequest(Add, ({ a, b }) => ({ sum: a + b }));
    peer.listen();
    raw.send({ jsonrpc: '2.0', method: 'test/note', params: { text: 'one' } });
    raw.send({ jsonrpc: '2.0', method: 'test/unknown', params: {} });
    raw.send({ jsonrpc: '2.0', method: 'test/note', params: { text: 42 } });
    raw.send({ jsonrpc: '2.0', method: 'test/note', params: { text: 'two' } });
    raw.send({ jsonrpc: '2.0', id: 1, method: 'test/add', params: { a: 0, b: 0 } });
    await raw.next((m) => m.id === 1);
    expect(texts).toEqual(['one', 'two']);
    expect(records.some((r) => r.level === LEVEL.debug && r.method === 'test/unknown')).toBe(true);
    expect(records.some((r) => r.level === LEVEL.warn && r.method === 'test/note')).toBe(true);
    expect(raw.received).toHaveLength(1);
  });

  it('sends notifications without an id', async () => {
    const Ping = new NotificationMethod('test/ping', z.object({ n: z.number() }));
    const { peer, raw } = peerWithRawEnd();
    peer.listen();
    peer.sendNotification(Ping, { n: 1 });
    expect(await raw.next(() => true)).toEqual({ jsonrpc: '2.0', method: 'test/ping', params: { n: 1 } });
  });
});
