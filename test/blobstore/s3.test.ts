import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BlobReadError, createBlobStore } from '../../blobstore/index.js';
import { S3BlobStore, S3BlobStoreError } from '../../blobstore/s3.js';
import { startS3rver, type S3rverFixture } from '../support/s3.js';
import { describeBlobStoreContract } from './contract.js';

let server: S3rverFixture;
let prefixCount = 0;
beforeAll(async () => {
  server = await startS3rver();
});
afterAll(() => server?.close());

/** A store on the shared s3rver bucket; each gets its own prefix unless told. */
function openStore(options: { prefix?: string; bucket?: string } = {}): S3BlobStore {
  return new S3BlobStore({
    bucket: options.bucket ?? server.bucket,
    prefix: options.prefix ?? `test-${++prefixCount}/`,
    endpoint: server.endpoint,
    credentials: server.credentials,
    forcePathStyle: true,
  });
}

/** A plain client, to look at the bucket behind the store's back. */
function rawClient(): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: server.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

describeBlobStoreContract('s3 (s3rver)', async () => ({ store: openStore(), cleanup: async () => {} }));

describe('S3BlobStore on s3rver', () => {
  const opened: S3BlobStore[] = [];
  const open = (options: { prefix?: string; bucket?: string } = {}) => {
    const store = openStore(options);
    opened.push(store);
    return store;
  };
  let client: S3Client;
  beforeAll(() => {
    client = rawClient();
  });
  afterAll(() => client.destroy());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  it('writes one object <prefix>blobs/ab/cdef… holding {"blob_type","data"}', async () => {
    const store = open({ prefix: 'layout/' });
    const id = await store.put({ b: 1, a: 'x' }, 'flow');
    const hex = id.slice('sha256:'.length);
    const key = `layout/blobs/${hex.slice(0, 2)}/${hex.slice(2)}`;
    expect(store.keyOf(id)).toBe(key);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: 'layout/' }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual([key]);
    const object = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
    expect(await object.Body?.transformToString()).toBe('{"blob_type":"flow","data":{"a":"x","b":1}}');
  });

  it('adds the slash a prefix lacks, and uses no prefix by default', async () => {
    expect(open({ prefix: 'team-a' }).prefix).toBe('team-a/');
    expect(open({ prefix: '' }).keyOf('sha256:' + 'ab'.repeat(32))).toBe(`blobs/ab/${'ab'.repeat(31)}`);
  });

  it('keeps stores with different prefixes on one bucket apart', async () => {
    const first = open({ prefix: 'iso-a/' });
    const second = open({ prefix: 'iso-b/' });
    const id = await first.put({ only: 'in a' });
    expect(await first.has(id)).toBe(true);
    expect(await second.has(id)).toBe(false);
    expect(await second.get(id)).toBeUndefined();
    expect(await second.put({ only: 'in a' })).toBe(id);
    expect(await second.get(id)).toEqual({ data: { only: 'in a' }, blobType: 'data' });
  });

  it('shares blobs between stores with the same prefix', async () => {
    const id = await open({ prefix: 'shared/' }).put([1, 2, 3]);
    expect(await open({ prefix: 'shared/' }).get(id)).toEqual({ data: [1, 2, 3], blobType: 'data' });
  });

  it('keeps the first write: a put of an existing blob does not upload again', async () => {
    const store = open({ prefix: 'first-wins/' });
    const id = await store.put({ a: 1 }, 'flow');
    // A fresh store has no in-process memory of the first put; only HeadObject can skip the upload.
    expect(await open({ prefix: 'first-wins/' }).put({ a: 1 }, 'data')).toBe(id);
    expect(await store.get(id)).toEqual({ data: { a: 1 }, blobType: 'flow' });
  });

  it('round-trips a multi-MiB blob byte for byte', async () => {
    const store = open();
    const text = Array.from({ length: 8 * 1024 }, (_, i) => `${i}:${'é✓𝄞'.repeat(60)}`).join('|');
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * 1024 * 1024);
    const id = await store.put({ text });
    const object = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: store.keyOf(id) }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.equals(Buffer.from(`{"blob_type":"data","data":{"text":${JSON.stringify(text)}}}`, 'utf8'))).toBe(true);
    expect((await store.get(id))?.data).toEqual({ text });
  });

  it('reports a record that is not a blob as a BlobReadError naming the id and the object', async () => {
    const store = open({ prefix: 'corrupt/' });
    const id = 'sha256:' + 'cd'.repeat(32);
    await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: store.keyOf(id), Body: '{"not":"a blob"}' }));
    const error = await store.get(id).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BlobReadError);
    expect((error as Error).message).toContain(id);
    expect((error as Error).message).toContain(`s3://${server.bucket}/corrupt/blobs/cd/`);
  });

  it('names a missing bucket in the errors of put and get', async () => {
    const store = open({ bucket: 'no-such-bucket' });
    const putError = await store.put({ a: 1 }).catch((err: unknown) => err);
    expect(putError).toBeInstanceOf(S3BlobStoreError);
    expect((putError as Error).message).toMatch(/cannot write blob sha256:[0-9a-f]{64} to s3:\/\/no-such-bucket\/.*bucket "no-such-bucket" does not exist/);
    const getError = await store.get('sha256:' + '0'.repeat(64)).catch((err: unknown) => err);
    expect(getError).toBeInstanceOf(BlobReadError);
    expect((getError as Error).message).toMatch(/blob sha256:0{64} cannot be read from s3:\/\/no-such-bucket\/.*bucket "no-such-bucket" does not exist/);
  });

  it('names the bucket and the cause when the server cannot be reached', async () => {
    const store = new S3BlobStore({ bucket: 'far-away', endpoint: 'http://127.0.0.1:1', credentials: server.credentials, forcePathStyle: true });
    opened.push(store);
    await expect(store.get('sha256:' + '0'.repeat(64))).rejects.toThrow(/sha256:0{64}.*s3:\/\/far-away\/.*ECONNREFUSED/);
  });
});

describe('createBlobStore({type: "s3"})', () => {
  const credentialsEnv = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(() => {
    // The config carries no secrets: the SDK's default chain reads them from the environment.
    process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(credentialsEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('opens a store on the configured bucket and prefix', async () => {
    const store = await createBlobStore({ type: 's3', bucket: server.bucket, prefix: 'configured', endpoint: server.endpoint, forcePathStyle: true }, '/');
    try {
      expect(store).toBeInstanceOf(S3BlobStore);
      expect((store as S3BlobStore).prefix).toBe('configured/');
      const id = await store.put({ configured: true });
      expect(await store.get(id)).toEqual({ data: { configured: true }, blobType: 'data' });
    } finally {
      await store.close();
    }
  });

  it('fails at startup, naming the bucket, when the bucket does not exist', async () => {
    await expect(
      createBlobStore({ type: 's3', bucket: 'missing-bucket', endpoint: server.endpoint, forcePathStyle: true }, '/'),
    ).rejects.toThrow(/bucket "missing-bucket" does not exist/);
  });
});
