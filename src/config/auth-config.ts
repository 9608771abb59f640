import { z } from 'zod';
import type { ConfigReader } from './config-reader.js';
import type { AuthConfig, NamespaceQuota } from './types.js';

// `${VAR}` substitution yields strings, so numbers are also read from their text.
const positiveInteger = z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(1));
const positiveNumber = z.preprocess((v) => (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), z.number().positive());

/** A namespace name: what runs, blobs and tokens are grouped by (docs/security.md). */
export const NamespaceNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a namespace name: letters, digits, ".", "_" or "-", at most 64');

const TokenSchema = z
  .strictObject({
    name: z.string().min(1),
    token: z.string().min(1).optional(),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the token: 64 hex digits')
      .transform((hex) => hex.toLowerCase())
      .optional(),
    namespace: NamespaceNameSchema.default('default'),
    role: z.enum(['viewer', 'submitter', 'operator', 'admin', 'worker']),
  })
  .refine((t) => (t.token === undefined) !== (t.tokenSha256 === undefined), { message: 'give exactly one of "token" and "tokenSha256"', path: ['token'] });

const QuotaSchema = z.strictObject({
  maxLiveRuns: positiveInteger.optional(),
  maxItemsPerRun: positiveInteger.optional(),
  submitsPerSecond: positiveNumber.optional(),
});

const AuthSchema = z.strictObject({
  tokens: z.array(TokenSchema).default([]),
  quotas: z.record(z.string(), QuotaSchema).default({}),
});

/**
 * `auth: {tokens: [{name, token | tokenSha256, namespace, role}], quotas: {NAMESPACE | "*": {…}}}`
 * — who may call `flowrun serve` and how much (docs/security.md). Token names are unique, and so
 * are the tokens: one token means one principal.
 */
export function parseAuthConfig(raw: unknown, reader: ConfigReader): AuthConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const auth = reader.parse(AuthSchema, raw, ['auth']);
  const names = new Set<string>();
  const secrets = new Set<string>();
  auth.tokens.forEach((token, i) => {
    if (names.has(token.name)) reader.fail(['auth', 'tokens', i, 'name'], `token name "${token.name}" is used twice`);
    names.add(token.name);
    const secret = token.token ?? token.tokenSha256!;
    if (secrets.has(secret)) reader.fail(['auth', 'tokens', i], `token "${token.name}" has the same secret as an earlier token`);
    secrets.add(secret);
  });
  for (const name of Object.keys(auth.quotas)) {
    if (name !== '*' && !NamespaceNameSchema.safeParse(name).success) reader.fail(['auth', 'quotas', name], 'not a namespace name (or "*" for every namespace)');
  }
  const quotas = Object.fromEntries(Object.entries(auth.quotas).map(([name, quota]) => [name, withoutUndefined(quota)])) as Record<string, NamespaceQuota>;
  return { tokens: auth.tokens.map(withoutUndefined), quotas };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
