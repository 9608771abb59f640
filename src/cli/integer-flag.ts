import { isIntegerIn, rangeText } from '../options.js';
import { UsageError } from './usage-error.js';

/**
 * An integer flag from `min` to `max`, by the check options get in code (src/options.ts), or
 * undefined when the flag is not given; anything else is a usage error naming the flag:
 * `--max-concurrency: expected an integer ≥ 1, got "0"` (docs/cli.md).
 */
export function integerFlag(text: string | undefined, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!isIntegerIn(n, min, max)) throw new UsageError(`${flag}: expected an integer ${rangeText(min, max)}, got "${text}"`);
  return n;
}
