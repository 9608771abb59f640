import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when an `Authorization` header carries `Bearer <token>`. Both sides are hashed first so
 * the comparison is constant-time and does not leak the token's length.
 */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const presented = bearerOf(authorization);
  if (presented === undefined) return false;
  return timingSafeEqual(sha256(presented), sha256(token));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(authorization)?.[1];
}

/** The SHA-256 digest of a token's UTF-8 text. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Why a request without a valid token is refused (401). */
export const UNAUTHORIZED_MESSAGE = 'unauthorized: a valid "Authorization: Bearer <token>" header is required';

/** The subprotocol a browser page speaks: it is selected at the upgrade, never the token's. */
export const DASHBOARD_SUBPROTOCOL = 'flowrun.v1';
/** A browser cannot set headers on a WebSocket: it offers its token as the subprotocol `flowrun.bearer.<base64url(utf8)>`. */
const BEARER_SUBPROTOCOL_PREFIX = 'flowrun.bearer.';

/** The token a `Sec-WebSocket-Protocol` header offers (docs/security.md, "Browsers"), or undefined. */
export function subprotocolBearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const offered = header.split(',').map((p) => p.trim()).find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (offered === undefined) return undefined;
  const encoded = offered.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const token = Buffer.from(encoded, 'base64url').toString('utf8');
  return token.length === 0 ? undefined : token;
}
