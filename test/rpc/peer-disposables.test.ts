import { describe, expect, it } from 'vitest';
import { ErrorCodes, RpcError } from '../../protocol/index.js';
import { settle } from '../support/wait-for.js';
import { Add, Note, peerPair } from './fixtures.js';

describe('RpcPeer subscriptions return disposables', () => {
  it('stops serving a request method once its handler is disposed, and keeps a newer handler', async () => {
    const { a, b } = peerPair();
    const first = b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    a.listen();
    b.listen();
    await expect(a.sendRequest(Add, { a: 1, b: 2 })).resolves.toEqual({ sum: 3 });
    first.dispose();
    const refused = await a.sendRequest(Add, { a: 1, b: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RpcError);
    expect((refused as RpcError).code).toBe(ErrorCodes.MethodNotFound);

    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x * y }));
    first.dispose(); // the old registration no longer removes anything
    await expect(a.sendRequest(Add, { a: 2, b: 5 })).resolves.toEqual({ sum: 10 });
  });

  it('stops delivering notifications once disposed', async () => {
    const { a, b } = peerPair();
    const heard: string[] = [];
    const subscription = b.onNotification(Note, ({ text }) => heard.push(text));
    a.listen();
    b.listen();
    a.sendNotification(Note, { text: 'one' });
    await settle();
    subscription.dispose();
    a.sendNotification(Note, { text: 'two' });
    await settle();
    expect(heard).toEqual(['one']);
  });

  it('does not call a disposed close listener, before or after the close', async () => {
    const { a, b } = peerPair();
    const heard: string[] = [];
    a.onClose(() => heard.push('kept'));
    a.onClose(() => heard.push('disposed')).dispose();
    a.listen();
    b.listen();
    a.close();
    a.onClose(() => heard.push('late, disposed')).dispose();
    a.onClose(() => heard.push('late, kept'));
    await settle();
    expect(heard).toEqual(['kept', 'late, kept']);
  });
});
