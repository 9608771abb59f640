import { describe, expect, it } from 'vitest';
import { ErrorCodes, MAX_JSON_DEPTH, exceedsJsonDepth } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';

/** `[[…[x]…]]` with `n` arrays, built without recursion. */
function arrays(n: number, inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < n; i++) value = [value];
  return value;
}

function objects(n: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < n; i++) value = { k: value, flat: i };
  return value;
}

describe('exceedsJsonDepth', () => {
  it('counts each array or object as one level; scalars are depth 0', () => {
    for (const scalar of [null, 1, 'x', true, undefined]) expect(exceedsJsonDepth(scalar, 0)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({}, 1)).toBe(false);
    expect(exceedsJsonDepth(arrays(3), 3)).toBe(false);
    expect(exceedsJsonDepth(arrays(3), 2)).toBe(true);
    expect(exceedsJsonDepth(objects(3), 3)).toBe(false);
    expect(exceedsJsonDepth(objects(3), 2)).toBe(true);
  });

  it('allows exactly MAX_JSON_DEPTH levels by default', () => {
    expect(MAX_JSON_DEPTH).toBe(256);
    expect(exceedsJsonDepth(arrays(256))).toBe(false);
    expect(exceedsJsonDepth(arrays(257))).toBe(true);
    expect(exceedsJsonDepth(objects(256))).toBe(false);
    expect(exceedsJsonDepth(objects(257))).toBe(true);
  });

  it('finds a deep branch beside wide shallow ones, in arrays and objects alike', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => ({ i, tags: ['a', 'b'] }));
    expect(exceedsJsonDepth({ wide, deep: null })).toBe(false);
    expect(exceedsJsonDepth({ wide, deep: objects(300) })).toBe(true);
    expect(exceedsJsonDepth([...wide, arrays(300)])).toBe(true);
  });

  it('checks a value a million levels deep without overflowing the stack', () => {
    const deep = arrays(1_000_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(exceedsJsonDepth(deep)).toBe(true);
    expect(exceedsJsonDepth(deep, 2_000_000)).toBe(false);
  });

  it('ends on a cycle (it is deeper than any limit)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(exceedsJsonDepth(cyclic)).toBe(true);
  });
});

describe('blobs nested too deep', () => {
  it('are refused with -32012 before the canonical form is computed', async () => {
    const blobs = new MemoryBlobStore();
    await expect(blobs.put(objects(6_000), 'data')).rejects.toMatchObject({
      code: ErrorCodes.InvalidValue,
      message: 'cannot store a blob: its data is nested deeper than 256 levels',
      data: { field: 'data', maxDepth: 256 },
    });
    await expect(blobs.put(objects(200), 'data')).resolves.toMatch(/^sha256:/);
  });
});
