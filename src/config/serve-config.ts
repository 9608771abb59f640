import { z } from 'zod';
import { normalizeOrigin } from './origin.js';
import type { ConfigReader } from './config-reader.js';
import type { LimitsConfig, ServeConfig } from './types.js';

// `${VAR}` substitution yields strings, so numbers are also read from their text.
const positiveInteger = z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(1));

const ServeSchema = z.strictObject({ allowOrigins: z.array(z.string().min(1)).default([]) });
const LimitsSchema = z.strictObject({ maxRunDepth: positiveInteger.optional(), maxLiveRuns: positiveInteger.optional() });

/** `serve: {allowOrigins: [origin…]}` — web origins allowed besides the server's own (docs/serve.md). */
export function parseServeConfig(raw: unknown, reader: ConfigReader): ServeConfig | undefined {
  if (raw === undefined) return undefined;
  const serve = reader.parse(ServeSchema, raw, ['serve']);
  const allowOrigins = serve.allowOrigins.map((origin, i) => {
    try {
      return normalizeOrigin(origin);
    } catch (err) {
      return reader.fail(['serve', 'allowOrigins', i], (err as Error).message);
    }
  });
  return { allowOrigins };
}

/** `limits: {maxRunDepth, maxLiveRuns}` — bounds on child-run nesting and live runs (docs/serve.md). */
export function parseLimitsConfig(raw: unknown, reader: ConfigReader): LimitsConfig | undefined {
  if (raw === undefined) return undefined;
  const limits = reader.parse(LimitsSchema, raw, ['limits']);
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as LimitsConfig;
}
