import { z } from 'zod';

/**
 * The longest delay a timer can take (2^31 − 1 ms, about 24.8 days): Node fires a longer one at
 * once, so every `timeoutMs` is refused above it (docs/limits.md).
 */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** A `timeoutMs` field: a positive integer no larger than `MAX_TIMEOUT_MS`. */
export const TimeoutMsSchema = z.number().int().positive().max(MAX_TIMEOUT_MS);
