/**
 * The blob store case (f): `blobs/put` then `blobs/get` of 1 KiB and 1 MiB JSON values
 * through the runtime's service (what those requests reach once off the wire) on the
 * filesystem backend, against a raw loop doing the same work by hand with the sync fs API:
 * JSON text, SHA-256 → file name in a 2-hex shard directory, temp file, write, fsync, close,
 * rename (the store's durability) — and for get, read + JSON.parse. One blob at a time, each
 * value distinct (a put of a known id is a no-op). Both write into fresh directories that are
 * removed only when the whole bench ends (on ext4 without a journal, creating files right after
 * deleting many is ≈10× slower).
 */
import * as crypto from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FilesystemBlobStore } from '../../blobstore/filesystem.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { RuntimeService } from '../../src/api/runtime-service.js';
import { measure, type Measure } from '../lib/measure.js';

export type BlobSize = '1KiB' | '1MiB';

export interface BlobPass {
  put: Measure;
  get: Measure;
}

const BYTES: Record<BlobSize, number> = { '1KiB': 1024, '1MiB': 1024 * 1024 };
let serial = 0;

/** `n` distinct JSON strings of about `size` bytes. */
function values(size: BlobSize, n: number): string[] {
  const body = 'b'.repeat(BYTES[size] - 16);
  const run = `${process.pid}.${++serial}`;
  return Array.from({ length: n }, (_, i) => `${run}.${i}:${body}`);
}

/** `blobs/put` × n then `blobs/get` × n through a RuntimeService on a FilesystemBlobStore under `root`. */
export async function storePass(root: string, size: BlobSize, n: number): Promise<BlobPass> {
  const blobs = new FilesystemBlobStore({ path: mkdtempSync(join(root, 'store-')) });
  const runs = new RunManager({ blobs, store: new MemoryStateStore(), invoke: () => Promise.reject(new Error('no components here')) });
  const service = new RuntimeService(blobs, runs);
  const data = values(size, n);
  const ids = new Array<string>(n);
  const put = await measure(n, async () => {
    for (let i = 0; i < n; i++) ids[i] = (await service.blobsPut({ data: data[i], blob_type: 'data' })).blob_id;
  });
  const get = await measure(n, async () => {
    for (let i = 0; i < n; i++) {
      const blob = await service.blobsGet({ blob_id: ids[i] });
      if (blob.data !== data[i]) throw new Error('blob store returned other data');
    }
  });
  return { put, get };
}

/** The same by hand with the sync API: the floor the store is compared with. */
export async function rawPass(root: string, size: BlobSize, n: number): Promise<BlobPass> {
  const dir = mkdtempSync(join(root, 'raw-'));
  for (let s = 0; s < 256; s++) mkdirSync(join(dir, s.toString(16).padStart(2, '0')));
  const data = values(size, n);
  const files = new Array<string>(n);
  const put = await measure(n, async () => {
    for (let i = 0; i < n; i++) {
      const json = JSON.stringify(data[i]);
      const hex = crypto.hash('sha256', json, 'hex');
      const file = join(dir, hex.slice(0, 2), hex.slice(2));
      const temp = join(dir, hex.slice(0, 2), `.${i}.tmp`);
      const fd = openSync(temp, 'wx');
      try {
        writeSync(fd, json);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, file);
      files[i] = file;
    }
  });
  const get = await measure(n, async () => {
    for (let i = 0; i < n; i++) {
      if (JSON.parse(readFileSync(files[i], 'utf8')) !== data[i]) throw new Error('read back other data');
    }
  });
  return { put, get };
}

/** A fresh directory for one bench's blob files, under `base` (default the OS temp dir, a real disk here). */
export function blobRoot(base: string): string {
  return mkdtempSync(join(base, 'flowrun-bench-blobs-'));
}
