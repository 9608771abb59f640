import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type FlowResult } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import type { StepInvoker } from '../../src/executor/item-executor.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { registerRuntimeHandlers } from '../../src/api/runtime-handlers.js';
import { RuntimeService } from '../../src/api/runtime-service.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';
import { RequestCancelledError } from '../../src/errors.js';
import { submitRun } from '../../src/client/run-handle.js';

const FLOW = { steps: [{ id: 'w', component: '/t/w', input: { $input: '$' } }], output: { $step: 'w' } };

/** Items resolve when the test says so; item inputs are numbers. */
class Gate {
  private readonly waiting = new Map<number, (r: FlowResult) => void>();
  readonly invoke: StepInvoker = (inv) =>
    new Promise((resolve) => {
      this.waiting.set(inv.input as number, resolve);
      inv.signal?.addEventListener('abort', () => resolve({ outcome: 'failed', error: { code: ErrorCodes.RequestCancelled, message: 'cancelled' } }));
    });
  async release(x: number): Promise<void> {
    while (!this.waiting.has(x)) await new Promise((r) => setTimeout(r, 1));
    this.waiting.get(x)!({ outcome: 'success', value: x * 10 });
  }
}

let peers: RpcPeer[] = [];
afterEach(() => {
  for (const p of peers) p.close();
  peers = [];
});

function connect(invoke: StepInvoker): RpcPeer {
  const [a, b] = createMemoryTransportPair();
  const runs = new RunManager({ blobs: new MemoryBlobStore(), invoke });
  const server = new RpcPeer(a.reader, a.writer, { name: 'runtime' });
  registerRuntimeHandlers(server, new RuntimeService(new MemoryBlobStore(), runs), () => ({}));
  server.listen();
  const client = new RpcPeer(b.reader, b.writer, { name: 'client' });
  client.listen();
  peers.push(server, client);
  return client;
}

describe('RunHandle', () => {
  it('submits, waits and returns every result in input order', async () => {
    const client = connect(async (inv) => ({ outcome: 'success', value: (inv.input as number) + 1 }));
    const handle = await submitRun(client, { flow: FLOW, inputs: [1, 2, 3] });
    expect(handle.runId).toBe(handle.submitted?.runId);
    expect(await handle.result()).toEqual([2, 3, 4].map((value) => ({ outcome: 'success', value })));
    expect((await handle.status()).status).toBe('success');
  });

  it('pages results byCompletion in finishing order', async () => {
    const gate = new Gate();
    const client = connect(gate.invoke);
    const handle = await submitRun(client, { flow: FLOW, inputs: [0, 1, 2] });
    for (const x of [2, 0, 1]) await gate.release(x);
    await handle.wait();
    const first = await handle.results({ order: 'byCompletion', offset: 0, limit: 2 });
    expect(first.results.map((r) => r.itemIndex)).toEqual([2, 0]);
    const rest = await handle.results({ order: 'byCompletion', offset: first.nextOffset, limit: 2 });
    expect(rest.results.map((r) => r.itemIndex)).toEqual([1]);
    expect(rest.nextOffset).toBeUndefined();
  });

  it('returns the current status when a wait times out, and cancels', async () => {
    const gate = new Gate();
    const client = connect(gate.invoke);
    const handle = await submitRun(client, { flow: FLOW, inputs: [5, 6] });
    expect((await handle.wait({ timeoutMs: 10 })).status).toBe('running');
    await gate.release(5);
    for (let i = 0; i < 1000 && (await handle.status()).items.success < 1; i++) await new Promise((r) => setTimeout(r, 1));
    const cancelled = await handle.cancel();
    expect(['running', 'cancelled']).toContain(cancelled.status);
    const final = await handle.wait();
    expect(final.status).toBe('cancelled');
    expect(final.items).toMatchObject({ success: 1, cancelled: 1 });
  });

  it('abandons a wait when its signal aborts', async () => {
    const client = connect(new Gate().invoke);
    const handle = await submitRun(client, { flow: FLOW, inputs: [1] });
    const abort = new AbortController();
    const waiting = handle.wait({ signal: abort.signal });
    abort.abort();
    await expect(waiting).rejects.toBeInstanceOf(RequestCancelledError);
  });
});
