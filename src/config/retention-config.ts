import { z } from 'zod';
import { DurationSchema } from './duration.js';
import type { ConfigReader } from './config-reader.js';
import type { RetentionConfig } from './types.js';

/** The default of `retention.sweepEvery`: one hour. */
export const DEFAULT_SWEEP_EVERY_MS = 3_600_000;

/** Longest `sweepEvery`: Node's timers fire at once above 2^31 − 1 ms (about 24.8 days). */
const MAX_SWEEP_EVERY_MS = 2 ** 31 - 1;

const RetentionSchema = z.strictObject({
  runs: DurationSchema.optional(),
  blobs: DurationSchema.optional(),
  sweepEvery: DurationSchema.pipe(z.number().max(MAX_SWEEP_EVERY_MS, 'at most 24d')).optional(),
});

/**
 * `retention: {runs, blobs, sweepEvery}` (docs/retention.md): how old terminal runs (by completion)
 * and unused blobs (by when they were stored) get before the sweep deletes them; neither is
 * deleted unless set. `sweepEvery` defaults to 1h.
 */
export function parseRetentionConfig(raw: unknown, reader: ConfigReader): RetentionConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const retention = reader.parse(RetentionSchema, raw, ['retention']);
  return {
    ...(retention.runs !== undefined && { runsMs: retention.runs }),
    ...(retention.blobs !== undefined && { blobsMs: retention.blobs }),
    sweepEveryMs: retention.sweepEvery ?? DEFAULT_SWEEP_EVERY_MS,
  };
}
