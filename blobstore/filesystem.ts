import { randomBytes } from 'node:crypto';
import { closeSync, fsync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { blobIdHex, blobIdOfCanonicalJson, canonicalJson, normalizeBlobId } from './blob-id.js';
import type { Blob, BlobStore, BlobType, StoredBlob } from './blob-store.js';
import { formatBlobRecord, parseBlobRecord } from './blob-record.js';
import { WritesInFlight } from './writes-in-flight.js';

/**
 * Blob files up to this size are read and written with the synchronous API: on a local disk that
 * costs ≈10 µs, while each fs/promises step is a thread-pool round trip (a 1 KiB get took
 * 115–180 µs of CPU that way). Larger files go through the pool so a big blob does not hold the
 * event loop. The fsync of a put is always asynchronous: it waits for the disk.
 */
const SYNC_IO_MAX_BYTES = 64 * 1024;

/** Blobs may hold anything a flow handled: only the runtime's own user may read them (docs/serve.md). */
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

export interface FilesystemBlobStoreOptions {
  /** Root directory of the store; created (with its shard directories) on first put. */
  path: string;
}

/** A blob file exists but cannot be read or does not hold a blob record. */
export class BlobReadError extends Error {
  override name = 'BlobReadError';
  constructor(
    readonly blobId: string,
    readonly file: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`blob ${blobId} cannot be read from ${file}: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

/**
 * Blobs as files `<path>/ab/cdef…`: the first two hex digits of the id name a shard directory,
 * the other 62 the file. A file holds one line, `{"blob_type":"data","data":<canonical JSON>}`,
 * which is itself JCS canonical JSON, readable with any JSON tool.
 *
 * Writes go to a temp file in the shard directory, are fsynced, then renamed into place, so a
 * reader sees either no file or the whole blob. Two writers of one id write identical bytes, so
 * the last rename changing nothing is harmless.
 */
export class FilesystemBlobStore implements BlobStore {
  readonly root: string;
  /** Shard directories known to exist, so each is created once per process. */
  readonly #shards = new Set<string>();
  /** Puts of one id under way in this process, so concurrent puts write once. */
  readonly #writes = new WritesInFlight();

  constructor(options: FilesystemBlobStoreOptions) {
    this.root = resolve(options.path);
  }

  /** Stores `data`; a put of an id already on disk is a no-op (the first write's type is kept). */
  async put(data: unknown, blobType: BlobType = 'data'): Promise<string> {
    const json = canonicalJson(data);
    const id = blobIdOfCanonicalJson(json);
    await this.#writes.run(id, () => this.#storeOnce(id, json, blobType));
    return id;
  }

  async get(blobId: string): Promise<Blob | undefined> {
    const id = normalizeBlobId(blobId);
    if (id === undefined) return undefined;
    const file = this.fileOf(id);
    let text: string;
    try {
      const stat = statSync(file, { throwIfNoEntry: false });
      if (stat === undefined) return undefined;
      // Blob files never change once renamed into place, so the size read here is the size read next.
      text = stat.size <= SYNC_IO_MAX_BYTES ? readFileSync(file, 'utf8') : await readFile(file, 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw new BlobReadError(id, file, (err as Error).message, err);
    }
    return readBlobRecord(id, file, text);
  }

  async has(blobId: string): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    return id !== undefined && exists(this.fileOf(id));
  }

  /** Blob files by their modification time: written, or stored again (see `#storeOnce`). */
  async *list(): AsyncIterable<StoredBlob> {
    for (const shard of await readdirOrNone(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdirOrNone(join(this.root, shard))) {
        // Temp files start with a dot; only finished blobs have a 62-digit name.
        if (!/^[0-9a-f]{62}$/.test(name)) continue;
        const info = await stat(join(this.root, shard, name)).catch(() => undefined);
        if (info) yield { blobId: `sha256:${shard}${name}`, bytes: info.size, storedAt: info.mtimeMs };
      }
    }
  }

  async delete(blobId: string, storedBefore = Infinity): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    if (id === undefined) return false;
    const file = this.fileOf(id);
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs >= storedBefore) return false;
    try {
      await unlink(file);
      return true;
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async close(): Promise<void> {}

  /** The file holding a blob, for a normalized (`sha256:…`) id. */
  fileOf(normalizedId: string): string {
    const hex = blobIdHex(normalizedId);
    return join(this.root, hex.slice(0, 2), hex.slice(2));
  }

  async #storeOnce(id: string, json: string, blobType: BlobType): Promise<void> {
    const file = this.fileOf(id);
    // Stored again: new again for retention, which deletes only blobs old by their mtime.
    if (exists(file) && touched(file)) return;
    await this.#writeAtomically(file, formatBlobRecord(json, blobType));
  }

  async #writeAtomically(file: string, content: string): Promise<void> {
    const dir = dirname(file);
    if (!this.#shards.has(dir)) await this.#createShard(dir);
    try {
      await writeThenRename(file, content);
    } catch (err) {
      // The shard directory was removed behind our back: create it again, once.
      if (!isCode(err, 'ENOENT')) throw err;
      await this.#createShard(dir);
      await writeThenRename(file, content);
    }
  }

  async #createShard(dir: string): Promise<void> {
    // Every directory this creates (root and shard) is private; an existing one is left as it is.
    await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
    this.#shards.add(dir);
  }
}

function writeThenRename(file: string, content: string): Promise<void> {
  return isSmall(content) ? writeSmallThenRename(file, content) : writeLargeThenRename(file, content);
}

/** Whether `content` is at most SYNC_IO_MAX_BYTES in UTF-8 (a UTF-16 unit takes 1 to 3 bytes). */
function isSmall(content: string): boolean {
  if (content.length > SYNC_IO_MAX_BYTES) return false;
  return content.length * 3 <= SYNC_IO_MAX_BYTES || Buffer.byteLength(content, 'utf8') <= SYNC_IO_MAX_BYTES;
}

/** A temp file's name next to `file`: leading dot and random suffix, never taken for a blob, never shared by two writers. */
function tempFileFor(file: string): string {
  return join(dirname(file), `.${randomBytes(8).toString('hex')}.tmp`);
}

/** A small blob: create and write synchronously (page cache), fsync off the loop, then close and rename. */
async function writeSmallThenRename(file: string, content: string): Promise<void> {
  const temp = tempFileFor(file);
  const fd = openSync(temp, 'wx', FILE_MODE);
  try {
    try {
      writeSync(fd, content, null, 'utf8');
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Already gone, or never created: nothing to clean up.
    }
    throw err;
  }
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

async function writeLargeThenRename(file: string, content: string): Promise<void> {
  const temp = tempFileFor(file);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/** Parses a blob file, naming the blob and the file when it is not a blob record. */
function readBlobRecord(id: string, file: string, text: string): Blob {
  try {
    return parseBlobRecord(text);
  } catch (err) {
    throw new BlobReadError(id, file, (err as Error).message, err);
  }
}

/** Whether a blob file exists: a synchronous stat (metadata, cached by the OS) instead of a thread-pool `access`. */
function exists(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    // Unreadable path (EACCES, ENOTDIR): as before, treated as absent; a write then reports the real error.
    return false;
  }
}

/** Sets a blob file's mtime to now; false when it is gone (deleted meanwhile: write it again). */
function touched(file: string): boolean {
  try {
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch (err) {
    // Another user's file (a shared store) keeps its time; it is there all the same.
    return !isCode(err, 'ENOENT');
  }
}

/** The names in a directory, none when it does not exist (a store nothing was put in yet). */
async function readdirOrNone(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return [];
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}
