import { z } from 'zod';
import { MAX_TIMEOUT_MS } from '../../protocol/timeout.js';
import type { ConfigReader } from './config-reader.js';
import type { CallbacksConfig } from './types.js';

// `${VAR}` substitution yields strings, so numbers are also read from their text.
const integer = (max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(1).max(max));

/** A host name, or `*.` and a domain for its subdomains. */
const HostSchema = z.string().regex(/^(\*\.)?[A-Za-z0-9.:[\]-]+$/, 'a host name, or *.domain for its subdomains');

const CallbacksSchema = z.strictObject({
  allowHosts: z.array(HostSchema).optional(),
  backoffMs: integer(MAX_TIMEOUT_MS).optional(),
  maxBackoffMs: integer(MAX_TIMEOUT_MS).optional(),
  giveUpAfterMs: integer(Number.MAX_SAFE_INTEGER).optional(),
  timeoutMs: integer(MAX_TIMEOUT_MS).optional(),
  pollMs: integer(MAX_TIMEOUT_MS).optional(),
});

/**
 * `callbacks: {allowHosts, backoffMs, maxBackoffMs, giveUpAfterMs, timeoutMs, pollMs}` — how
 * completion callbacks are delivered (docs/callbacks.md); absent keys take the documented defaults.
 */
export function parseCallbacksConfig(raw: unknown, reader: ConfigReader): CallbacksConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const callbacks = reader.parse(CallbacksSchema, raw, ['callbacks']);
  return Object.fromEntries(Object.entries(callbacks).filter(([, v]) => v !== undefined)) as CallbacksConfig;
}
