import { describe, expect, it } from 'vitest';
import { BlobsGet, BlobsPut, ErrorCodes, RpcError, RunsCancel, RunsGet, RunsList, RunsSubmit, type RunStatus } from '../../protocol/index.js';
import { RequestCancelledError } from '../../src/errors.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import type { CallerContext, RuntimeApi } from '../../src/api/runtime-api.js';
import { registerRuntimeHandlers } from '../../src/api/runtime-handlers.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';
import { waitFor } from '../support/wait-for.js';

const status = (runId: string, s: RunStatus['status'] = 'running'): RunStatus => ({
  runId,
  flowId: `sha256:${'a'.repeat(64)}`,
  status: s,
  items: { total: 1, pending: 0, running: s === 'running' ? 1 : 0, success: s === 'success' ? 1 : 0, failed: 0, cancelled: 0 },
  createdAt: '2026-01-01T00:00:00.000Z',
});

interface Call {
  method: string;
  params: unknown;
  caller: CallerContext;
}

/** A RuntimeApi that records its calls; `runsGet` with `wait` long-polls until its signal aborts. */
function fakeApi() {
  const calls: Call[] = [];
  const record = (method: string, params: unknown, caller: CallerContext) => calls.push({ method, params, caller });
  const api: RuntimeApi = {
    async blobsPut(params, caller) {
      record('blobsPut', params, caller);
      return { blob_id: `sha256:${'b'.repeat(64)}` };
    },
    async blobsGet(params, caller) {
      record('blobsGet', params, caller);
      if (params.blob_id === 'missing') throw new RpcError(ErrorCodes.BlobNotFound, 'Blob not found', { blob_id: params.blob_id });
      return { data: { hello: 'world' }, blob_type: 'data' };
    },
    async runsSubmit(params, caller) {
      record('runsSubmit', params, caller);
      return status('run-1');
    },
    runsGet(params, caller) {
      record('runsGet', params, caller);
      if (!params.wait) return Promise.resolve(status(params.runId));
      return new Promise((_, reject) => caller.signal!.addEventListener('abort', () => reject(new Error('released'))));
    },
    async runsCancel(params, caller) {
      record('runsCancel', params, caller);
      return status(params.runId, 'cancelled');
    },
    async runsList(params, caller) {
      record('runsList', params, caller);
      return { runs: [status('run-1')], nextCursor: 'c2' };
    },
    async runsRerun(params, caller) {
      record('runsRerun', params, caller);
      return { ...status('run-2'), rerunOf: params.runId };
    },
    async runsDelete(params, caller) {
      record('runsDelete', params, caller);
      return { runIds: [params.runId], items: 0 };
    },
    async runsGc(params, caller) {
      record('runsGc', params, caller);
      return { dryRun: params.dryRun, runs: { count: 0, items: 0, runIds: [] }, blobs: { count: 0, bytes: 0, blobIds: [] } };
    },
    async runsCompare(params, caller) {
      record('runsCompare', params, caller);
      return { runs: params.runIds.map((id) => status(id)), settings: params.runIds.map(() => ({ variables: {} })), summary: { items: 0, same: 0, different: 0, missing: 0 }, items: [] };
    },
    async runsItems(params, caller) {
      record('runsItems', params, caller);
      return { items: [] };
    },
    async flowsList(params, caller) {
      record('flowsList', params, caller);
      return { flows: [] };
    },
    async runsMetrics(params, caller) {
      record('runsMetrics', params, caller);
      return { runId: params.runId, itemsPerSec: 0, itemDurationMs: { p50: 0, p95: 0, p99: 0, max: 0 }, components: [] };
    },
  };
  return { api, calls };
}

function serve() {
  const [serverEnd, clientEnd] = createMemoryTransportPair();
  const server = new RpcPeer(serverEnd.reader, serverEnd.writer, { name: 'client' });
  const client = new RpcPeer(clientEnd.reader, clientEnd.writer, { name: 'runtime' });
  const { api, calls } = fakeApi();
  const parent = { runId: 'parent-run', itemIndex: 2, stepId: 's1', flowId: 'sha256:f' };
  registerRuntimeHandlers(server, api, () => ({ parent }));
  server.listen();
  client.listen();
  return { server, client, calls, parent };
}

describe('registerRuntimeHandlers', () => {
  it('serves blobs/* and runs/* with parsed params and the caller context', async () => {
    const { client, calls, parent } = serve();
    expect(await client.sendRequest(BlobsPut, { data: { x: 1 } })).toEqual({ blob_id: `sha256:${'b'.repeat(64)}` });
    expect(await client.sendRequest(BlobsGet, { blob_id: 'sha256:abc' })).toEqual({ data: { hello: 'world' }, blob_type: 'data' });
    expect(await client.sendRequest(RunsSubmit, { flowId: 'sha256:f', inputs: [1] })).toMatchObject({ runId: 'run-1' });
    expect(await client.sendRequest(RunsGet, { runId: 'r7' })).toMatchObject({ runId: 'r7', status: 'running' });
    expect(await client.sendRequest(RunsCancel, { runId: 'r7' })).toMatchObject({ status: 'cancelled' });
    expect(await client.sendRequest(RunsList, undefined)).toMatchObject({ runs: [{ runId: 'run-1' }], nextCursor: 'c2' });

    expect(calls.map((c) => c.method)).toEqual(['blobsPut', 'blobsGet', 'runsSubmit', 'runsGet', 'runsCancel', 'runsList']);
    // Params arrive parsed: schema defaults are filled in.
    expect(calls[0].params).toEqual({ data: { x: 1 }, blob_type: 'data' });
    expect(calls[2].params).toMatchObject({ wait: false, variables: {} });
    expect(calls[3].params).toMatchObject({ resultOrder: 'byIndex', offset: 0 });
    expect(calls[5].params).toEqual({ limit: 50 });
    for (const call of calls) {
      expect(call.caller.parent).toEqual(parent);
      expect(call.caller.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it('passes an RpcError from the api to the caller', async () => {
    const { client } = serve();
    await expect(client.sendRequest(BlobsGet, { blob_id: 'missing' })).rejects.toMatchObject({
      code: ErrorCodes.BlobNotFound,
      data: { blob_id: 'missing' },
    });
  });

  it('refuses invalid params with -32602 naming the field', async () => {
    const { client, calls } = serve();
    await expect(client.sendRequest(RunsSubmit, { flowId: 'sha256:f' } as never)).rejects.toMatchObject({
      code: ErrorCodes.InvalidParams,
      message: expect.stringContaining('field "inputs"'),
    });
    expect(calls).toEqual([]);
  });

  it('releases a long-poll runs/get when the caller cancels it', async () => {
    const { client, server, calls } = serve();
    const controller = new AbortController();
    const call = client.sendRequest(RunsGet, { runId: 'r1', wait: true }, { signal: controller.signal });
    await waitFor(() => calls.length === 1);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
    const signal = calls[0].caller.signal!;
    await waitFor(() => signal.aborted && server.inFlightCount === 0);
  });

  it('releases a long-poll runs/get when the caller connection closes', async () => {
    const { client, server, calls } = serve();
    void client.sendRequest(RunsGet, { runId: 'r1', wait: true }).catch(() => undefined);
    await waitFor(() => calls.length === 1);
    client.close();
    await waitFor(() => calls[0].caller.signal!.aborted && server.isClosed && server.inFlightCount === 0);
  });
});
