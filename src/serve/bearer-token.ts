import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when an `Authorization` header carries `Bearer <token>`. Both sides are hashed first so
 * the comparison is constant-time and does not leak the token's length.
 */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const match = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(authorization);
  if (match === null) return false;
  return timingSafeEqual(digest(match[1]), digest(token));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Why a request without a valid token is refused (401). */
export const UNAUTHORIZED_MESSAGE = 'unauthorized: a valid "Authorization: Bearer <token>" header is required';
