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
