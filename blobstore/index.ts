import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { FilesystemBlobStore } from './filesystem.js';
import { MemoryBlobStore } from './memory.js';

export type { Blob, BlobStore, BlobType } from './blob-store.js';
export { BLOB_ID_PREFIX, blobIdOf, blobIdOfCanonicalJson, canonicalJson, normalizeBlobId } from './blob-id.js';
export { MemoryBlobStore } from './memory.js';
export { BlobReadError, FilesystemBlobStore, type FilesystemBlobStoreOptions } from './filesystem.js';
// The S3 store is loaded only when configured (the AWS SDK takes ≈100 ms to load): import it from
// `./s3.js`, or let `createBlobStore` open it.
export type { S3BlobStore, S3BlobStoreError, S3BlobStoreOptions } from './s3.js';

/** Where a runtime keeps its blobs when the config says nothing (relative to the base directory). */
export const DEFAULT_BLOB_PATH = '.flowrun/blobs';

/** The `blobStore` section of a config (docs/config.md). */
export type BlobStoreConfig =
  | { type: 'memory' }
  | {
      type: 'filesystem';
      /** Root directory, relative to the base directory; default `.flowrun/blobs`. */
      path?: string;
    }
  | {
      type: 's3';
      bucket: string;
      /** Key prefix inside the bucket (a `/` is added when it does not end with one); default none. */
      prefix?: string;
      /** Endpoint of an S3-compatible server; default AWS. */
      endpoint?: string;
      /** Default `us-east-1`. */
      region?: string;
      /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need; default false. */
      forcePathStyle?: boolean;
    };

/** Opens the configured blob store; relative paths are taken from `baseDir`. */
export async function createBlobStore(config: BlobStoreConfig, baseDir: string): Promise<BlobStore> {
  switch (config.type) {
    case 'memory':
      return new MemoryBlobStore();
    case 'filesystem': {
      const root = resolve(baseDir, config.path ?? DEFAULT_BLOB_PATH);
      // Created now so a directory we cannot write fails at startup, not at the first put.
      try {
        await mkdir(root, { recursive: true });
      } catch (err) {
        throw new Error(`cannot create blob store directory ${root}: ${(err as Error).message}`, { cause: err });
      }
      return new FilesystemBlobStore({ path: root });
    }
    case 's3': {
      // Credentials come from the SDK's chain (AWS_ACCESS_KEY_ID…, profiles, instance roles).
      const { S3BlobStore } = await import('./s3.js');
      const store = new S3BlobStore(config);
      // Checked now so a missing bucket fails at startup, not at the first put.
      try {
        await store.checkBucket();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
  }
}
