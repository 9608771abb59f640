import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobIdOf, canonicalJson, normalizeBlobId } from '../../blobstore/index.js';

describe('blobIdOf', () => {
  it('hashes the JCS canonical JSON', () => {
    const expected = createHash('sha256').update('{"a":[1,"x",null,true],"b":2}').digest('hex');
    expect(blobIdOf({ b: 2, a: [1, 'x', null, true] })).toBe(`sha256:${expected}`);
  });

  it('canonicalises numbers and unicode as RFC 8785 says', () => {
    expect(canonicalJson({ n: [1.0, 1e21, -0, 0.1] })).toBe('{"n":[1,1e+21,0,0.1]}');
    expect(canonicalJson({ '\u00e9': 1, e: 2, '10': 3, '9': 4 })).toBe('{"10":3,"9":4,"e":2,"é":1}');
  });

  it('throws a clear error for values that are not JSON', () => {
    expect(() => blobIdOf(undefined)).toThrow(/undefined at \$ is not a JSON value/);
    expect(() => blobIdOf(() => 1)).toThrow(/function/);
    expect(() => blobIdOf({ a: [Number.POSITIVE_INFINITY] })).toThrow(/Infinity at \$\.a\[0\]/);
    expect(() => blobIdOf({ a: 1n })).toThrow(/bigint at \$\.a/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => blobIdOf(cyclic)).toThrow(/circular reference at \$\.self/);
  });

  it('refuses a lone surrogate in a top-level or nested string, and keeps paired ones', () => {
    expect(() => canonicalJson('a\uD800b')).toThrow(/lone surrogate/i);
    expect(() => canonicalJson({ s: '\uDC00' })).toThrow(/lone surrogate/i);
    expect(canonicalJson('\uD83D\uDE00 "q"')).toBe(JSON.stringify('\uD83D\uDE00 "q"'));
  });

  it('drops undefined properties like JSON.stringify', () => {
    expect(blobIdOf({ a: 1, b: undefined })).toBe(blobIdOf({ a: 1 }));
  });
});

describe('normalizeBlobId', () => {
  const hex = 'AB'.repeat(32);
  it('accepts prefixed and bare 64-hex ids and lower-cases them', () => {
    expect(normalizeBlobId(`sha256:${hex}`)).toBe(`sha256:${hex.toLowerCase()}`);
    expect(normalizeBlobId(hex)).toBe(`sha256:${hex.toLowerCase()}`);
  });

  it('rejects malformed ids', () => {
    for (const id of ['', 'sha256:', `sha256:${hex}0`, hex.slice(1), `md5:${hex}`, `sha256:${'g'.repeat(64)}`, ` ${hex}`]) {
      expect(normalizeBlobId(id)).toBeUndefined();
    }
  });
});
