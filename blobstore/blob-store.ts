import type { BlobType } from '../protocol/messages.js';

export type { BlobType };

/** A stored blob: its JSON value and its type. */
export interface Blob {
  data: unknown;
  blobType: BlobType;
}

/** A stored blob as retention sees it (docs/retention.md). */
export interface StoredBlob {
  blobId: string;
  /** Size as stored. */
  bytes: number;
  /** When it was stored (ms since the epoch); a put of the same data again makes it new again. */
  storedAt: number;
}

/**
 * Content-addressed, immutable JSON blobs (docs/protocol.md, "Blobs"). Ids are `sha256:` + 64 hex digits of the
 * SHA-256 of the value's RFC 8785 (JCS) canonical JSON. `put` is idempotent; readers never see a
 * partial blob.
 */
export interface BlobStore {
  /** Stores `data` and returns its id (`sha256:…`). Storing the same data again is a no-op. */
  put(data: unknown, blobType?: BlobType): Promise<string>;
  /** Returns the blob, or `undefined` when no blob has this id. Accepts bare 64-hex ids too. */
  get(blobId: string): Promise<Blob | undefined>;
  /** True when a blob with this id is stored. */
  has(blobId: string): Promise<boolean>;
  /** Every stored blob, in no particular order. */
  list(): AsyncIterable<StoredBlob>;
  /**
   * Deletes a blob, only if it was stored before `storedBefore` (ms; default: whenever): a blob
   * stored again since it was listed stays. True when it was deleted.
   */
  delete(blobId: string, storedBefore?: number): Promise<boolean>;
  /** Releases resources (connections, handles). */
  close(): Promise<void>;
}
