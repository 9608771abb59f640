import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration of the config (docs/config.md): a number of milliseconds, or a number with a unit
 * (`500ms`, `30s`, `10m`, `24h`, `7d`); read as milliseconds.
 */
export const DurationSchema = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$/, 'a duration: milliseconds, or a number with a unit (ms, s, m, h, d), e.g. "24h"')
    .transform((text) => {
      const [, value, unit] = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)!;
      return Math.round(Number(value) * UNIT_MS[unit ?? 'ms']);
    })
    .pipe(z.number().int().positive()),
]);
