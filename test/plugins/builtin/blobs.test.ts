import { describe, expect, it } from 'vitest';
import { blobIdOf } from '../../../blobstore/blob-id.js';
import { callOf, componentError, fakeHost } from './fake-host.js';

describe('/put_blob and /get_blob', () => {
  it('stores data as a data blob by default and returns its content id', async () => {
    const { plugin, blobs } = fakeHost();
    const data = { b: [1, 2], a: 'x' };
    const result = await plugin.execute(callOf('/put_blob', { data }));
    expect(result).toEqual({ outcome: 'success', value: { blob_id: blobIdOf(data) } });
    expect(await blobs.get(blobIdOf(data))).toEqual({ data, blobType: 'data' });
  });

  it('passes blob_type flow through to the store', async () => {
    const { plugin, blobs } = fakeHost();
    const flow = { steps: [], output: 1 };
    await plugin.execute(callOf('/put_blob', { data: flow, blob_type: 'flow' }));
    expect((await blobs.get(blobIdOf(flow)))?.blobType).toBe('flow');
  });

  it('refuses an invalid flow put as blob_type flow with -32602 naming the step and field, storing nothing', async () => {
    const { plugin, blobs } = fakeHost();
    const flow = { steps: [{ id: 'a', component: '/x', input: { $step: 'ghost' } }] };
    const error = await componentError(plugin.execute(callOf('/put_blob', { data: flow, blob_type: 'flow' })));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('step "a"');
    expect(error.message).toContain('ghost');
    expect(await blobs.get(blobIdOf(flow))).toBeUndefined();
  });

  it('reads back what was put, by prefixed or bare id', async () => {
    const { plugin } = fakeHost();
    const put = await plugin.execute(callOf('/put_blob', { data: [null, 'v'] }));
    const blobId = (put as { value: { blob_id: string } }).value.blob_id;
    expect(await plugin.execute(callOf('/get_blob', { blob_id: blobId }))).toEqual({ outcome: 'success', value: { data: [null, 'v'] } });
    const bare = blobId.slice('sha256:'.length);
    expect(await plugin.execute(callOf('/get_blob', { blob_id: bare }))).toEqual({ outcome: 'success', value: { data: [null, 'v'] } });
  });

  it('fails with -32008 naming the blob id when the blob is missing', async () => {
    const { plugin } = fakeHost();
    const blobId = `sha256:${'e'.repeat(64)}`;
    const error = await componentError(plugin.execute(callOf('/get_blob', { blob_id: blobId })));
    expect(error).toEqual({ code: -32008, message: `Blob not found: ${blobId}`, data: { blob_id: blobId } });
  });

  it('refuses a malformed blob id, a missing data and an unknown blob_type with -32602', async () => {
    const { plugin } = fakeHost();
    expect((await componentError(plugin.execute(callOf('/get_blob', { blob_id: 'nope' })))).message).toContain('"blob_id"');
    expect((await componentError(plugin.execute(callOf('/put_blob', { blob_type: 'data' })))).message).toContain('"data"');
    expect((await componentError(plugin.execute(callOf('/put_blob', { data: 1, blob_type: 'Json' })))).message).toContain('"blob_type"');
  });
});
