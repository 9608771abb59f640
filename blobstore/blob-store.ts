import type { BlobType } from '../protocol/messages.js';

export type { BlobType };

/** A stored blob: its JSON value and its type. */
export interface Blob {
  data: unknown;
  blobType: BlobType;
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
  /** Releases resources (connections, handles). */
  close(): Promise<void>;
}
