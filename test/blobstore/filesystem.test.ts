import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobReadError, createBlobStore, FilesystemBlobStore } from '../../blobstore/index.js';
import { describeBlobStoreContract } from './contract.js';
import { makeTempDir } from '../support/temp-dir.js';

describeBlobStoreContract('filesystem', async () => {
  const dir = await makeTempDir('blobs');
  return { store: new FilesystemBlobStore({ path: join(dir, 'blobs') }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('FilesystemBlobStore on disk', () => {
  let dir: string;
  let store: FilesystemBlobStore;
  beforeEach(async () => {
    dir = await makeTempDir('blobs');
    store = new FilesystemBlobStore({ path: join(dir, 'blobs') });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes <root>/ab/cdef… holding {"blob_type","data"} and no temp files', async () => {
    const id = await store.put({ b: 1, a: 'x' }, 'flow');
    const hex = id.slice('sha256:'.length);
    const file = join(dir, 'blobs', hex.slice(0, 2), hex.slice(2));
    expect(store.fileOf(id)).toBe(file);
    expect(await readFile(file, 'utf8')).toBe('{"blob_type":"flow","data":{"a":"x","b":1}}');
    expect(await readdir(join(dir, 'blobs', hex.slice(0, 2)))).toEqual([hex.slice(2)]);
  });

  it('finds blobs written by another store on the same directory', async () => {
    const id = await store.put([1, 2, 3]);
    const other = new FilesystemBlobStore({ path: join(dir, 'blobs') });
    expect(await other.get(id)).toEqual({ data: [1, 2, 3], blobType: 'data' });
  });

  it('leaves one complete file and no temp files after racing puts from two stores', async () => {
    const other = new FilesystemBlobStore({ path: join(dir, 'blobs') });
    const value = { race: 'y'.repeat(200_000) };
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).put(value)));
    const hex = ids[0].slice('sha256:'.length);
    expect(await readdir(join(dir, 'blobs', hex.slice(0, 2)))).toEqual([hex.slice(2)]);
    expect((await other.get(ids[0]))?.data).toEqual(value);
  });

  it('does not rewrite a blob that is already on disk', async () => {
    const id = await store.put({ keep: true });
    const file = store.fileOf(id);
    await writeFile(file, '{"blob_type":"data","data":{"keep":"marker"}}');
    await new FilesystemBlobStore({ path: join(dir, 'blobs') }).put({ keep: true });
    expect(await readFile(file, 'utf8')).toContain('marker');
  });

  it('makes a blob stored again new again, so retention keeps it, and lists no temp file', async () => {
    const id = await store.put({ flow: 'reused' });
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(store.fileOf(id), old, old);
    const hex = id.slice('sha256:'.length);
    await writeFile(join(dir, 'blobs', hex.slice(0, 2), '.0123456789abcdef.tmp'), 'partial');
    const listed = [];
    for await (const blob of store.list()) listed.push(blob);
    expect(listed).toEqual([{ blobId: id, bytes: (await stat(store.fileOf(id))).size, storedAt: old.getTime() }]);
    await new FilesystemBlobStore({ path: join(dir, 'blobs') }).put({ flow: 'reused' });
    expect((await stat(store.fileOf(id))).mtimeMs).toBeGreaterThan(old.getTime());
    expect(await store.delete(id, old.getTime() + 1)).toBe(false);
    expect(await store.has(id)).toBe(true);
  });

  it('lists nothing before the first put', async () => {
    const listed = [];
    for await (const blob of new FilesystemBlobStore({ path: join(dir, 'never') }).list()) listed.push(blob);
    expect(listed).toEqual([]);
  });

  it('recreates a shard directory removed behind its back', async () => {
    const id = await store.put({ first: 1 });
    await rm(join(dir, 'blobs'), { recursive: true });
    expect(await store.put({ first: 1 })).toBe(id);
    expect((await store.get(id))?.data).toEqual({ first: 1 });
  });

  it('reports a corrupt blob file with an error naming the blob id', async () => {
    const id = await store.put({ soon: 'corrupt' });
    await writeFile(store.fileOf(id), '{"blob_type":"data","da');
    const error = await store.get(id).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BlobReadError);
    expect((error as BlobReadError).message).toContain(id);
    expect((error as BlobReadError).blobId).toBe(id);

    await writeFile(store.fileOf(id), '{"something":"else"}');
    await expect(store.get(id)).rejects.toThrow(id);
  });

  it('reports an unreadable blob path with an error naming the blob id', async () => {
    const id = await store.put({ becomes: 'a directory' });
    await rm(store.fileOf(id));
    await (await import('node:fs/promises')).mkdir(store.fileOf(id));
    await expect(store.get(id)).rejects.toThrow(id);
  });
});

describe('createBlobStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('blobs');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('puts a filesystem store at .flowrun/blobs under the base directory by default', async () => {
    const store = await createBlobStore({ type: 'filesystem' }, dir);
    expect(store).toBeInstanceOf(FilesystemBlobStore);
    expect((store as FilesystemBlobStore).root).toBe(join(dir, '.flowrun', 'blobs'));
    expect(await readdir(join(dir, '.flowrun'))).toEqual(['blobs']);
  });

  it('resolves a relative path against the base directory', async () => {
    const store = await createBlobStore({ type: 'filesystem', path: 'data/b' }, dir);
    expect((store as FilesystemBlobStore).root).toBe(join(dir, 'data', 'b'));
  });

  it('opens a memory store', async () => {
    const store = await createBlobStore({ type: 'memory' }, dir);
    const id = await store.put(1);
    expect(await store.get(id)).toEqual({ data: 1, blobType: 'data' });
  });
});
