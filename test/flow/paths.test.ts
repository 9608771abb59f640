import { describe, expect, it } from 'vitest';
import { NOT_FOUND, parsePath, PathSyntaxError, selectPath } from '../../src/flow/paths.js';

const segments = (p: string | null) => parsePath(p).segments;

describe('parsePath', () => {
  it('reads "", "$", whitespace and null as the whole value', () => {
    for (const p of ['', '$', '  ', ' $ ', null]) expect(segments(p)).toEqual([]);
  });

  it('reads a bare name, nesting on dots and brackets', () => {
    expect(segments('name')).toEqual(['name']);
    expect(segments('a.b')).toEqual(['a', 'b']);
    expect(segments('a.b[2].c')).toEqual(['a', 'b', 2, 'c']);
  });

  it('reads the JSONPath subset: .name, [n], ["name"], [\'name\']', () => {
    expect(segments('$.a.b')).toEqual(['a', 'b']);
    expect(segments('$[0]')).toEqual([0]);
    expect(segments('$["a.b"][1]')).toEqual(['a.b', 1]);
    expect(segments("$['x y'].z")).toEqual(['x y', 'z']);
    expect(segments('$.list[10].name')).toEqual(['list', 10, 'name']);
  });

  it('keeps the path as written for messages', () => {
    expect(parsePath('a.b').text).toBe('a.b');
  });

  it.each([
    ['$[abc]', /invalid index 'abc'/],
    ['$[0', /unclosed bracket/],
    ['$["a"', /unclosed bracket/],
    ['a[', /unclosed bracket/],
    ['$field', /invalid character 'f'/],
    ['$[0]x', /invalid character 'x'/],
    ['a..b', /empty field name/],
    ['$.', /empty field name/],
    ['$[-1]', /invalid index '-1'/],
  ])('refuses %s', (path, message) => {
    expect(() => parsePath(path)).toThrow(PathSyntaxError);
    expect(() => parsePath(path)).toThrow(message);
  });
});

describe('selectPath', () => {
  const value = { a: { b: [1, { c: null }] }, n: 0 };

  it('selects nested fields and indices', () => {
    expect(selectPath(value, parsePath('a.b[1]'))).toEqual({ c: null });
    expect(selectPath(value, parsePath('$.a.b[0]'))).toBe(1);
    expect(selectPath(value, parsePath('a.b[1].c'))).toBeNull();
    expect(selectPath(value, parsePath('$'))).toBe(value);
  });

  it('reports missing keys, out-of-range indices and wrong container types as NOT_FOUND', () => {
    for (const p of ['missing', 'a.b[2]', 'a.b.c', 'a[0]', 'n.x', 'a.b[1].c.d', 'toString']) {
      expect(selectPath(value, parsePath(p))).toBe(NOT_FOUND);
    }
  });
});
