/**
 * Paths into JSON values (docs/flows.md, "Paths"): a bare name (`a.b` = nested `a` → `b`, `a[0]` allowed) or a
 * JSONPath subset: `$`, `.name`, `[n]`, `["name"]` / `['name']`. `""`, `"$"` and null mean the
 * whole value. Parsed once when a flow is compiled; selecting is a loop over segments.
 */

/** A field name or an array index. */
export type PathSegment = string | number;

export interface CompiledPath {
  /** The path as written (for error messages). */
  readonly text: string;
  /** Empty = the whole value. */
  readonly segments: readonly PathSegment[];
}

/** The whole value: `""`, `"$"` or null. */
export const ROOT_PATH: CompiledPath = Object.freeze({ text: '$', segments: Object.freeze([]) });

/** A path string that is not valid syntax; `message` says what is wrong. */
export class PathSyntaxError extends Error {
  override name = 'PathSyntaxError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a path; throws PathSyntaxError on bad syntax. */
export function parsePath(text: string | null | undefined): CompiledPath {
  if (text === null || text === undefined) return ROOT_PATH;
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '$') return ROOT_PATH;
  if (trimmed.startsWith('$')) return { text, segments: parseSegments(text, trimmed, 1) };
  // A bare name reads as if written `$.name…`.
  return { text, segments: parseSegments(text, trimmed, 0, true) };
}

/** Marker for "no value at this path" (distinct from a null value). */
export const NOT_FOUND: unique symbol = Symbol('not found');

/** The value at `path` in `value`, or NOT_FOUND. */
export function selectPath(value: unknown, path: CompiledPath): unknown {
  const segments = path.segments;
  let current = value;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (typeof seg === 'number') {
      if (!Array.isArray(current) || seg >= current.length) return NOT_FOUND;
      current = current[seg];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return NOT_FOUND;
      if (!Object.prototype.hasOwnProperty.call(current, seg)) return NOT_FOUND;
      current = (current as Record<string, unknown>)[seg];
    }
  }
  return current;
}

function parseSegments(original: string, s: string, start: number, bare = false): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = start;
  if (bare) i = readName(original, s, i, segments);
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i = readName(original, s, i + 1, segments);
    } else if (c === '[') {
      i = readBracket(original, s, i, segments);
    } else {
      throw new PathSyntaxError(original, `invalid character '${c}' in path "${original}" after '${s[i - 1]}': expected '.' or '['`);
    }
  }
  return segments;
}

function readName(original: string, s: string, start: number, out: PathSegment[]): number {
  let end = start;
  while (end < s.length && s[end] !== '.' && s[end] !== '[') end++;
  if (end === start) throw new PathSyntaxError(original, `empty field name in path "${original}"`);
  out.push(s.slice(start, end));
  return end;
}

function readBracket(original: string, s: string, open: number, out: PathSegment[]): number {
  const quote = s[open + 1];
  if (quote === '"' || quote === "'") {
    const close = s.indexOf(quote, open + 2);
    if (close < 0 || s[close + 1] !== ']') throw new PathSyntaxError(original, `unclosed bracket '[' in path "${original}"`);
    out.push(s.slice(open + 2, close));
    return close + 2;
  }
  const close = s.indexOf(']', open + 1);
  if (close < 0) throw new PathSyntaxError(original, `unclosed bracket '[' in path "${original}"`);
  const inner = s.slice(open + 1, close).trim();
  if (!/^\d+$/.test(inner)) {
    throw new PathSyntaxError(original, `invalid index '${inner}' in path "${original}": expected a number or a quoted string`);
  }
  out.push(Number(inner));
  return close + 1;
}
