import { timingSafeEqual } from 'node:crypto';
import { DEFAULT_NAMESPACE, type Principal } from '../api/access.js';
import type { AuthTokenConfig } from '../config/types.js';
import { bearerOf, sha256 } from './bearer-token.js';

/** One token as kept in memory: only the SHA-256 of its secret. */
interface KnownToken {
  digest: Buffer;
  principal: Principal;
}

/**
 * The bearer tokens `flowrun serve` accepts and who each one is (docs/security.md): the tokens of
 * `auth.tokens`, or the single `--token`, an admin of the namespace `default`. Only SHA-256 digests
 * are kept, and each is compared in constant time.
 */
export class TokenDirectory {
  private readonly tokens: readonly KnownToken[];

  private constructor(tokens: readonly KnownToken[]) {
    this.tokens = tokens;
  }

  /** The tokens of the config, plus `single` (`--token`) as an admin of `default` when given. */
  static of(configured: readonly AuthTokenConfig[], single?: string): TokenDirectory {
    const tokens: KnownToken[] = configured.map((t) => ({
      digest: t.tokenSha256 !== undefined ? Buffer.from(t.tokenSha256, 'hex') : sha256(t.token!),
      principal: { tokenName: t.name, namespace: t.namespace, role: t.role },
    }));
    if (single !== undefined) tokens.push({ digest: sha256(single), principal: { tokenName: 'token', namespace: DEFAULT_NAMESPACE, role: 'admin' } });
    return new TokenDirectory(tokens);
  }

  /** Whether any token is known: then every request must carry one. */
  get required(): boolean {
    return this.tokens.length > 0;
  }

  /** Who an `Authorization: Bearer …` header names, or undefined when it names no known token. */
  principalOf(authorization: string | undefined): Principal | undefined {
    return this.principalOfToken(bearerOf(authorization));
  }

  /** Who a presented token is, or undefined when it names no known token. */
  principalOfToken(presented: string | undefined): Principal | undefined {
    if (presented === undefined) return undefined;
    const digest = sha256(presented);
    let found: Principal | undefined;
    // Every token is compared, so the time taken does not tell which one matched.
    for (const token of this.tokens) if (timingSafeEqual(digest, token.digest)) found = token.principal;
    return found;
  }
}

/** Who calls a server without tokens (loopback only): an admin of `default`, as before tokens had roles. */
export const ANONYMOUS_ADMIN: Principal = { tokenName: 'anonymous', namespace: DEFAULT_NAMESPACE, role: 'admin' };
