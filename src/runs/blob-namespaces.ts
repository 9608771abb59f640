import type { StateStore } from '../statestore/state-store.js';
import { asStoreError } from '../statestore/store-unavailable.js';

/** Pairs of namespace and blob remembered at most before the memory of them starts over. */
const REMEMBERED = 100_000;

/**
 * Which namespaces may read each blob (docs/security.md): blobs are content-addressed and shared,
 * so the state store records every namespace a blob was put or used in. What is known here is not
 * asked again: a component putting and getting blobs during a run costs one store write per new
 * blob of its namespace, and nothing more.
 */
export class BlobNamespaces {
  private readonly known = new Set<string>();

  constructor(private readonly store: StateStore) {}

  /** Records that `namespace` put or used the blob. */
  async add(blobId: string, namespace: string): Promise<void> {
    const key = `${namespace}\n${blobId}`;
    if (this.known.has(key)) return;
    await this.store.addBlobNamespace(blobId, namespace).catch((err: unknown) => {
      throw asStoreError(err, `cannot record blob ${blobId} in namespace ${namespace}`);
    });
    this.remember(key);
  }

  /** Whether `namespace` put or used the blob. */
  async has(blobId: string, namespace: string): Promise<boolean> {
    const key = `${namespace}\n${blobId}`;
    if (this.known.has(key)) return true;
    const found = await this.store.blobInNamespace(blobId, namespace).catch((err: unknown) => {
      throw asStoreError(err, `cannot read the namespaces of blob ${blobId}`);
    });
    if (found) this.remember(key);
    return found;
  }

  /**
   * Forgets every namespace of blobs deleted from the blob store (the retention sweep), in the
   * store and here: one stored again is recorded afresh.
   */
  async deleted(blobIds: readonly string[]): Promise<void> {
    if (blobIds.length === 0) return;
    await this.store.deleteBlobNamespaces(blobIds).catch((err: unknown) => {
      throw asStoreError(err, `cannot forget the namespaces of ${blobIds.length} deleted blobs`);
    });
    const gone = new Set(blobIds);
    for (const key of this.known) if (gone.has(key.slice(key.indexOf('\n') + 1))) this.known.delete(key);
  }

  private remember(key: string): void {
    if (this.known.size >= REMEMBERED) this.known.clear();
    this.known.add(key);
  }
}
