import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { blobIdHex, blobIdOfCanonicalJson, canonicalJson, normalizeBlobId } from './blob-id.js';
import { formatBlobRecord, parseBlobRecord } from './blob-record.js';
import type { Blob, BlobStore, BlobType, StoredBlob } from './blob-store.js';
import { BlobReadError } from './filesystem.js';
import { WritesInFlight } from './writes-in-flight.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket; a `/` is added when it does not end with one. Default `''`. */
  prefix?: string;
  /** Endpoint of an S3-compatible server (`http://127.0.0.1:9000`); default AWS. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Static credentials; default the SDK's chain (environment, profile, instance role…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need; default false. */
  forcePathStyle?: boolean;
}

/** An S3 request of the blob store failed for another reason than a missing key. */
export class S3BlobStoreError extends Error {
  override name = 'S3BlobStoreError';
  constructor(
    message: string,
    readonly bucket: string,
    readonly key?: string,
    readonly blobId?: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * Blobs as objects `<prefix>blobs/ab/cdef…` in one bucket, holding the same one-line record as
 * the filesystem store. One PutObject per blob, so readers see the whole blob or none; a put first
 * asks HeadObject and skips the upload when the blob is already there.
 *
 * The credentials need s3:ListBucket besides Get/PutObject: without it S3 answers 403, not 404,
 * for a missing key, and a missing blob would read as an error.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  /** Puts of one id under way in this process, so concurrent puts write once. */
  readonly #writes = new WritesInFlight();

  constructor(options: S3BlobStoreOptions) {
    if (!options.bucket) throw new TypeError('S3BlobStore needs a bucket');
    this.bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle ?? false,
      // Checksums only where S3 demands them: S3-compatible servers (s3rver, older MinIO) reject
      // the CRC32 trailers the SDK would otherwise add to every request.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Stores `data`; a put of an id already in the bucket is a no-op (the first write's type is kept). */
  async put(data: unknown, blobType: BlobType = 'data'): Promise<string> {
    const json = canonicalJson(data);
    const id = blobIdOfCanonicalJson(json);
    await this.#writes.run(id, () => this.#storeOnce(id, json, blobType));
    return id;
  }

  async get(blobId: string): Promise<Blob | undefined> {
    const id = normalizeBlobId(blobId);
    if (id === undefined) return undefined;
    const key = this.keyOf(id);
    let text: string;
    try {
      const object = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (object.Body === undefined) throw new Error('the response has no body');
      text = await object.Body.transformToString('utf-8');
    } catch (err) {
      if (isMissingKey(err)) return undefined;
      throw new BlobReadError(id, this.#location(key), this.#reason(err), err);
    }
    try {
      return parseBlobRecord(text);
    } catch (err) {
      throw new BlobReadError(id, this.#location(key), (err as Error).message, err);
    }
  }

  /** True when the object exists; a missing bucket also reads as false (a HEAD answer has no body to tell). */
  async has(blobId: string): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    return id !== undefined && this.#exists(id, this.keyOf(id));
  }

  /**
   * The blob objects under the prefix (ListObjectsV2, a page of 1000 at a time), by LastModified.
   * A put of a blob already there uploads nothing, so unlike the filesystem store's, an S3 blob is
   * as old as its first upload (docs/retention.md).
   */
  async *list(): AsyncIterable<StoredBlob> {
    const prefix = `${this.prefix}blobs/`;
    let token: string | undefined;
    do {
      const page = await this.#client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err: unknown) => {
          throw new S3BlobStoreError(`cannot list blobs at ${this.#location(prefix)}: ${this.#reason(err)}`, this.bucket, prefix, undefined, err);
        });
      for (const object of page.Contents ?? []) {
        const match = /^([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(object.Key?.slice(prefix.length) ?? '');
        if (match) yield { blobId: `sha256:${match[1]}${match[2]}`, bytes: object.Size ?? 0, storedAt: object.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** HeadObject decides the age, then DeleteObject. */
  async delete(blobId: string, storedBefore = Infinity): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    if (id === undefined) return false;
    const key = this.keyOf(id);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if ((head.LastModified?.getTime() ?? 0) >= storedBefore) return false;
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissingKey(err)) return false;
      throw new S3BlobStoreError(`cannot delete blob ${id} at ${this.#location(key)}: ${this.#reason(err)}`, this.bucket, key, id, err);
    }
  }

  /** Throws a clear error when the bucket is missing or cannot be reached; a runtime calls it at startup. */
  async checkBucket(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw new S3BlobStoreError(`blob store bucket cannot be used: ${this.#reason(err)}`, this.bucket, undefined, undefined, err);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /** The object key of a blob, for a normalized (`sha256:…`) id. */
  keyOf(normalizedId: string): string {
    const hex = blobIdHex(normalizedId);
    return `${this.prefix}blobs/${hex.slice(0, 2)}/${hex.slice(2)}`;
  }

  async #storeOnce(id: string, json: string, blobType: BlobType): Promise<void> {
    const key = this.keyOf(id);
    if (await this.#exists(id, key)) return;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: formatBlobRecord(json, blobType),
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      throw new S3BlobStoreError(`cannot write blob ${id} to ${this.#location(key)}: ${this.#reason(err)}`, this.bucket, key, id, err);
    }
  }

  async #exists(id: string, key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissingKey(err)) return false;
      throw new S3BlobStoreError(`cannot look up blob ${id} at ${this.#location(key)}: ${this.#reason(err)}`, this.bucket, key, id, err);
    }
  }

  #location(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** Why a request failed, in words naming the bucket where S3's own message does not. */
  #reason(err: unknown): string {
    const status = httpStatusOf(err);
    // Missing keys never get here, so a 404 (HeadBucket's bodiless one included) is the bucket.
    if (errorName(err) === 'NoSuchBucket' || status === 404) return `bucket "${this.bucket}" does not exist`;
    if (status === 403) return `access to bucket "${this.bucket}" denied (${errorName(err)})`;
    const message = (err as Error | undefined)?.message ?? String(err);
    return `${errorName(err)}: ${message} (bucket "${this.bucket}")`;
  }
}

/** S3 says the key is not there: GetObject's NoSuchKey, or a bodiless 404 from HeadObject. */
function isMissingKey(err: unknown): boolean {
  const name = errorName(err);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function httpStatusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}
