import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../blobstore/index.js';

/** A fresh store for one test, and how to dispose of it. */
export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The behaviour every BlobStore backend must show. */
export function describeBlobStoreContract(name: string, open: () => Promise<BlobStoreFixture>): void {
  describe(`${name} blob store contract`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('gives the id of the JCS canonical form (known vector)', async () => {
      const id = await store.put({ b: 2, a: [1, 'x', null, true] });
      expect(id).toBe('sha256:' + sha256('{"a":[1,"x",null,true],"b":2}'));
    });

    it('gives the same id whatever the key order or whitespace the data came in', async () => {
      const first = await store.put(JSON.parse('{ "z": {"y": 1, "x": [2, 3]}, "a": "s" }'));
      const second = await store.put(JSON.parse('{"a":"s","z":{"x":[2,3],"y":1}}'));
      expect(second).toBe(first);
      expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('gives different ids to different data', async () => {
      expect(await store.put({ a: 1 })).not.toBe(await store.put({ a: 2 }));
      expect(await store.put('1')).not.toBe(await store.put(1));
    });

    it('round-trips nested values, unicode and scalars', async () => {
      const values = [
        { nested: { deep: [{ x: [1, 2, { y: null }] }], empty: {}, list: [] }, n: -3.25, big: 1e21 },
        { text: 'héllo wörld ✓ 𝄞 日本語', quote: '"\\\n\t', control: '\u0001' },
        'just a string',
        42,
        null,
        false,
        [],
      ];
      for (const value of values) {
        const id = await store.put(value);
        expect(await store.get(id)).toEqual({ data: value, blobType: 'data' });
      }
    });

    it('round-trips a multi-MiB value', async () => {
      const rows = Array.from({ length: 40_000 }, (_, i) => ({ i, name: `row-${i}`, tags: ['a', 'b', 'c'], pad: 'x'.repeat(40) }));
      const id = await store.put({ rows });
      expect(JSON.stringify(rows).length).toBeGreaterThan(3 * 1024 * 1024);
      const blob = await store.get(id);
      expect(blob?.data).toEqual({ rows });
    });

    it('answers undefined for a missing id, and for a malformed one', async () => {
      expect(await store.get('sha256:' + '0'.repeat(64))).toBeUndefined();
      expect(await store.get('not-an-id')).toBeUndefined();
      expect(await store.get('sha256:../../etc/passwd')).toBeUndefined();
      expect(await store.has('sha256:' + '0'.repeat(64))).toBe(false);
    });

    it('accepts the bare 64-hex id and upper-case hex', async () => {
      const id = await store.put({ hello: 'blobs' });
      const hex = id.slice('sha256:'.length);
      expect(await store.get(hex)).toEqual({ data: { hello: 'blobs' }, blobType: 'data' });
      expect(await store.get('sha256:' + hex.toUpperCase())).toEqual({ data: { hello: 'blobs' }, blobType: 'data' });
      expect(await store.has(hex)).toBe(true);
    });

    it('is idempotent: a second put returns the same id and changes nothing', async () => {
      const id = await store.put({ a: 1 }, 'flow');
      expect(await store.put({ a: 1 })).toBe(id);
      expect(await store.get(id)).toEqual({ data: { a: 1 }, blobType: 'flow' });
    });

    it('keeps the blob type, defaulting to data', async () => {
      const flowId = await store.put({ steps: [] }, 'flow');
      const dataId = await store.put({ other: true });
      expect((await store.get(flowId))?.blobType).toBe('flow');
      expect((await store.get(dataId))?.blobType).toBe('data');
    });

    it('is not changed by mutating what was put or got', async () => {
      const value = { list: [1, 2] };
      const id = await store.put(value);
      value.list.push(3);
      const got = await store.get(id);
      (got?.data as { list: number[] }).list.push(4);
      expect((await store.get(id))?.data).toEqual({ list: [1, 2] });
    });

    it('stores concurrent puts of the same data once and safely', async () => {
      const value = { concurrent: 'x'.repeat(100_000) };
      const ids = await Promise.all(Array.from({ length: 20 }, () => store.put(value)));
      expect(new Set(ids).size).toBe(1);
      expect((await store.get(ids[0]))?.data).toEqual(value);
    });

    it('lists every stored blob once with its size and when it was stored', async () => {
      const before = Date.now();
      const ids = [await store.put({ a: 1 }), await store.put({ b: 'x'.repeat(1000) }, 'flow'), await store.put({ a: 1 })];
      const after = Date.now();
      const listed = [];
      for await (const blob of store.list()) listed.push(blob);
      expect(listed.map((b) => b.blobId).sort()).toEqual([ids[0], ids[1]].sort());
      const big = listed.find((b) => b.blobId === ids[1])!;
      expect(big.bytes).toBeGreaterThan(1000);
      // S3 keeps LastModified to the second.
      for (const blob of listed) expect(blob.storedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
      for (const blob of listed) expect(blob.storedAt).toBeLessThanOrEqual(after + 1000);
    });

    it('deletes a blob only if it was stored before the time given, and says whether it did', async () => {
      const id = await store.put({ doomed: true });
      const kept = await store.put({ kept: true });
      let storedAt = 0;
      for await (const blob of store.list()) if (blob.blobId === id) storedAt = blob.storedAt;
      expect(await store.delete(id, storedAt)).toBe(false);
      expect(await store.has(id)).toBe(true);
      expect(await store.delete(id, storedAt + 1)).toBe(true);
      expect(await store.get(id)).toBeUndefined();
      expect(await store.has(id)).toBe(false);
      expect(await store.delete(id)).toBe(false);
      expect(await store.delete('sha256:' + '0'.repeat(64))).toBe(false);
      const left = [];
      for await (const blob of store.list()) left.push(blob.blobId);
      expect(left).toEqual([kept]);
      // Deleted data can be stored again.
      expect(await store.put({ doomed: true })).toBe(id);
      expect((await store.get(id))?.data).toEqual({ doomed: true });
    });

    it('refuses values that are not JSON, naming the spot', async () => {
      await expect(store.put(undefined)).rejects.toThrow(/undefined at \$/);
      await expect(store.put({ a: { f: () => 1 } })).rejects.toThrow(/function at \$\.a\.f/);
      await expect(store.put([1, Number.NaN])).rejects.toThrow(/NaN at \$\[1\]/);
    });
  });
}
