import * as crypto from 'node:crypto';
import canonicalize from 'canonicalize';
import { MAX_JSON_DEPTH, tooDeepError } from '../protocol/json-depth.js';

/** Every blob id flowrun writes starts with this prefix (docs/protocol.md, "Blobs"). */
export const BLOB_ID_PREFIX = 'sha256:';

const PREFIXED_ID = /^sha256:([0-9a-fA-F]{64})$/;
const BARE_ID = /^[0-9a-fA-F]{64}$/;

// crypto.hash (Node ≥ 20.12) skips the Hash object; older runtimes take the classic path.
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** A value's RFC 8785 (JCS) canonical JSON; throws a TypeError naming the spot when it is not JSON. */
export function canonicalJson(data: unknown): string {
  // A top-level string (a common blob) skips canonicalize's JS scan for lone surrogates: the native check is ≈10× faster.
  if (typeof data === 'string') {
    if (!isWellFormed(data)) throw new TypeError('cannot store a blob: Lone surrogate is not allowed');
    return JSON.stringify(data);
  }
  assertJsonValue(data);
  try {
    const json = canonicalize(data);
    if (json === undefined) throw new TypeError('value has no JSON form');
    return json;
  } catch (err) {
    throw new TypeError(`cannot store a blob: ${(err as Error).message}`, { cause: err });
  }
}

/** `String.prototype.isWellFormed` (ES2024, native in Node 20): no lone UTF-16 surrogates. */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** The blob id of an already canonical JSON text. */
export function blobIdOfCanonicalJson(json: string): string {
  return BLOB_ID_PREFIX + sha256Hex(json);
}

/** The blob id of a JSON value: `sha256:` + hex SHA-256 of its JCS canonical JSON (docs/protocol.md, "Blobs"). */
export function blobIdOf(data: unknown): string {
  return blobIdOfCanonicalJson(canonicalJson(data));
}

/**
 * Accepts `sha256:<64 hex>` or Stepflow's bare 64 hex digits, in any case, and returns the
 * prefixed lower-case form; `undefined` when the id is malformed.
 */
export function normalizeBlobId(id: string): string | undefined {
  const hex = PREFIXED_ID.exec(id)?.[1] ?? (BARE_ID.test(id) ? id : undefined);
  return hex === undefined ? undefined : BLOB_ID_PREFIX + hex.toLowerCase();
}

/** The 64 hex digits of a normalized blob id. */
export function blobIdHex(normalizedId: string): string {
  return normalizedId.slice(BLOB_ID_PREFIX.length);
}

/**
 * Walks a value and throws on anything JSON cannot carry, or nested deeper than MAX_JSON_DEPTH.
 * canonicalize alone would turn a nested function into the text `undefined` and so produce an id
 * for invalid JSON.
 */
function assertJsonValue(value: unknown, path = '$', ancestors = new Set<object>()): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot store a blob: ${value} at ${path} is not a JSON number`);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot store a blob: ${describe(value)} at ${path} is not a JSON value`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new TypeError(`cannot store a blob: circular reference at ${path}`);
  // The ancestors are the depth: bounded, this walk and canonicalize's cannot overflow the stack (docs/state-stores.md).
  if (ancestors.size >= MAX_JSON_DEPTH) throw tooDeepError('cannot store a blob: its data', { field: 'data' });
  // Objects with toJSON (Date) serialise through it; canonicalize handles them.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  ancestors.add(value);
  if (Array.isArray(value)) {
    // Holes and undefined elements become null, as in JSON.stringify.
    value.forEach((element, i) => {
      if (element !== undefined) assertJsonValue(element, `${path}[${i}]`, ancestors);
    });
  } else {
    for (const [key, element] of Object.entries(value)) {
      // Undefined properties are dropped, as in JSON.stringify.
      if (element !== undefined) assertJsonValue(element, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  return `a ${typeof value}`;
}
