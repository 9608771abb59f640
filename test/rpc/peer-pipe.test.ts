import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NotificationMethod, RequestMethod } from '../../protocol/index.js';
import { ConnectionClosedError, RequestCancelledError } from '../../src/errors.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { spawnStdioProcess } from '../../src/transport/child-process.js';
import { NdjsonMessageReader } from '../../src/transport/ndjson-reader.js';
import { NdjsonMessageWriter } from '../../src/transport/ndjson-writer.js';
import { waitFor } from '../support/wait-for.js';
import { Add, Gate, Hold } from './fixtures.js';
import { requireBuilt, ROOT } from '../support/paths.js';

const root = `${ROOT}/`;
const distPeer = `${root}dist/src/rpc/peer.js`;

/** Two peers over real byte streams: NDJSON encoded, split and parsed as over stdio. */
function pipedPeers() {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const a = new RpcPeer(new NdjsonMessageReader(bToA), new NdjsonMessageWriter(aToB), { name: 'b' });
  const b = new RpcPeer(new NdjsonMessageReader(aToB), new NdjsonMessageWriter(bToA), { name: 'a' });
  return { a, b };
}

describe('RpcPeer over a pipe', () => {
  it('serves concurrent requests in both directions with out-of-order answers', async () => {
    const { a, b } = pipedPeers();
    const gateA = new Gate();
    const gateB = new Gate();
    a.onRequest(Hold, async ({ key }) => (await gateA.wait(key), { key, by: 'A' }));
    b.onRequest(Hold, async ({ key }) => (await gateB.wait(key), { key, by: 'B' }));
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    a.listen();
    b.listen();
    const fromA = ['1', '2', '3'].map((key) => a.sendRequest(Hold, { key }));
    const fromB = ['x', 'y'].map((key) => b.sendRequest(Hold, { key }));
    const sums = Array.from({ length: 50 }, (_, i) => a.sendRequest(Add, { a: i, b: i }));
    expect((await Promise.all(sums)).map((r) => r.sum)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
    await waitFor(() => gateB.entered.length === 3 && gateA.entered.length === 2);
    gateB.open('3');
    gateA.open('y');
    gateB.open('1');
    gateA.open('x');
    gateB.open('2');
    expect(await Promise.all(fromA)).toEqual(['1', '2', '3'].map((key) => ({ key, by: 'B' })));
    expect(await Promise.all(fromB)).toEqual(['x', 'y'].map((key) => ({ key, by: 'A' })));
  });

  it('cancels across the pipe and closes both peers when one side ends', async () => {
    const { a, b } = pipedPeers();
    const sawAbort = new Promise<void>((resolve) => {
      b.onRequest(Hold, (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => (resolve(), reject(new Error('x'))))));
    });
    a.listen();
    b.listen();
    const controller = new AbortController();
    const call = a.sendRequest(Hold, { key: 'k' }, { signal: controller.signal });
    await waitFor(() => b.inFlightCount === 1);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
    await sawAbort;

    const pending = b.sendRequest(Hold, { key: 'never answered' });
    const bClosed = new Promise<void>((resolve) => b.onClose(() => resolve()));
    a.close();
    await bClosed;
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

const Release = new NotificationMethod('test/release', z.object({ key: z.string() }));
const SawCancel = new NotificationMethod('test/saw-cancel', z.object({ key: z.string() }));
const AskParent = new RequestMethod('test/ask-parent', z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
const WaitCancel = new RequestMethod('test/wait-cancel', z.object({ key: z.string() }), z.null());
const Exit = new RequestMethod('test/exit', z.object({ code: z.number() }), z.null());

/** A component-server-like child built on the compiled RpcPeer. */
const CHILD = `
import { z } from 'zod';
import { RequestMethod, NotificationMethod } from '${root}dist/protocol/index.js';
import { RpcPeer } from '${distPeer}';
import { NdjsonMessageReader } from '${root}dist/src/transport/ndjson-reader.js';
import { NdjsonMessageWriter } from '${root}dist/src/transport/ndjson-writer.js';
const Add = new RequestMethod('test/add', z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
const Hold = new RequestMethod('test/hold', z.object({ key: z.string() }), z.object({ key: z.string(), by: z.string() }));
const AskParent = new RequestMethod('test/ask-parent', z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
const WaitCancel = new RequestMethod('test/wait-cancel', z.object({ key: z.string() }), z.null());
const Exit = new RequestMethod('test/exit', z.object({ code: z.number() }), z.null());
const Release = new NotificationMethod('test/release', z.object({ key: z.string() }));
const SawCancel = new NotificationMethod('test/saw-cancel', z.object({ key: z.string() }));
const peer = new RpcPeer(new NdjsonMessageReader(process.stdin), new NdjsonMessageWriter(process.stdout), { name: 'parent' });
const held = new Map();
peer.onRequest(Hold, ({ key }) => new Promise((resolve) => held.set(key, () => resolve({ key, by: 'child' }))));
peer.onNotification(Release, ({ key }) => held.get(key)());
peer.onRequest(AskParent, async (p) => peer.sendRequest(Add, p));
peer.onRequest(WaitCancel, ({ key }, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => {
  peer.sendNotification(SawCancel, { key });
  reject(new Error('cancelled'));
})));
peer.onRequest(Exit, ({ code }) => process.exit(code));
peer.listen();
process.stderr.write('child ready\\n');
`;

async function spawnPeerChild() {
  requireBuilt('dist/src/rpc/peer.js');
  const proc = await spawnStdioProcess({
    command: process.execPath,
    args: ['--input-type=module', '-e', CHILD],
    env: { ...process.env },
    cwd: root,
    name: 'peer-child',
  });
  const peer = new RpcPeer(proc.reader, proc.writer, { name: 'peer-child' });
  return { proc, peer };
}

describe('RpcPeer with a real child process', () => {
  it('calls the child and serves its calls back at the same time, answers matched out of order', async () => {
    const { proc, peer } = await spawnPeerChild();
    peer.onRequest(Add, ({ a, b }) => ({ sum: a + b }));
    peer.listen();
    const held = ['k1', 'k2', 'k3'].map((key) => peer.sendRequest(Hold, { key }));
    const asks = Array.from({ length: 20 }, (_, i) => peer.sendRequest(AskParent, { a: i, b: 1 }));
    expect((await Promise.all(asks)).map((r) => r.sum)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const key of ['k3', 'k1', 'k2']) peer.sendNotification(Release, { key });
    expect(await Promise.all(held)).toEqual(['k1', 'k2', 'k3'].map((key) => ({ key, by: 'child' })));
    peer.close();
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.stderrTail()).toEqual(['child ready']);
  });

  it('cancels a request in the child, which sees its signal abort', async () => {
    const { proc, peer } = await spawnPeerChild();
    const sawCancel = new Promise<string>((resolve) => peer.onNotification(SawCancel, ({ key }) => resolve(key)));
    peer.onRequest(Add, ({ a, b }) => ({ sum: a + b }));
    peer.listen();
    const controller = new AbortController();
    const call = peer.sendRequest(WaitCancel, { key: 'c1' }, { signal: controller.signal });
    // Messages are handled in order, so after this round trip the child is holding c1.
    await peer.sendRequest(AskParent, { a: 0, b: 0 });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
    expect(await sawCancel).toBe('c1');
    peer.close();
    await proc.exited;
  });

  it('rejects pending requests with ConnectionClosedError when the child dies', async () => {
    const { proc, peer } = await spawnPeerChild();
    peer.listen();
    const closed = new Promise<void>((resolve) => peer.onClose(() => resolve()));
    const held = peer.sendRequest(Hold, { key: 'forever' });
    const exit = peer.sendRequest(Exit, { code: 3 });
    await expect(held).rejects.toMatchObject({ name: 'ConnectionClosedError', message: expect.stringContaining('peer-child') });
    await expect(exit).rejects.toBeInstanceOf(ConnectionClosedError);
    await closed;
    expect((await proc.exited).code).toBe(3);
  });
});
