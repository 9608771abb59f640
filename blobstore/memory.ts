import { blobIdOfCanonicalJson, canonicalJson, normalizeBlobId } from './blob-id.js';
import type { Blob, BlobStore, BlobType, StoredBlob } from './blob-store.js';

/**
 * Blobs in process memory. Each blob is kept as its canonical JSON text: callers can mutate what
 * they put or got without changing the stored blob, and the text is more compact than objects.
 */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, { json: string; blobType: BlobType; storedAt: number }>();

  /** Stores `data`; the first put of an id wins, later puts (even with another type) only make it new again (retention). */
  async put(data: unknown, blobType: BlobType = 'data'): Promise<string> {
    const json = canonicalJson(data);
    const id = blobIdOfCanonicalJson(json);
    const stored = this.#blobs.get(id);
    if (stored) stored.storedAt = Date.now();
    else this.#blobs.set(id, { json, blobType, storedAt: Date.now() });
    return id;
  }

  async *list(): AsyncIterable<StoredBlob> {
    for (const [blobId, { json, storedAt }] of [...this.#blobs]) yield { blobId, bytes: Buffer.byteLength(json), storedAt };
  }

  async delete(blobId: string, storedBefore = Infinity): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    const stored = id === undefined ? undefined : this.#blobs.get(id);
    if (!stored || stored.storedAt >= storedBefore) return false;
    return this.#blobs.delete(id!);
  }

  async get(blobId: string): Promise<Blob | undefined> {
    const id = normalizeBlobId(blobId);
    const stored = id === undefined ? undefined : this.#blobs.get(id);
    return stored && { data: JSON.parse(stored.json), blobType: stored.blobType };
  }

  async has(blobId: string): Promise<boolean> {
    const id = normalizeBlobId(blobId);
    return id !== undefined && this.#blobs.has(id);
  }

  /** Number of stored blobs. */
  get size(): number {
    return this.#blobs.size;
  }

  async close(): Promise<void> {}
}
