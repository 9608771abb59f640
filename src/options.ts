import { MAX_TIMEOUT_MS } from '../protocol/timeout.js';

/**
 * The checks of options given in code, one function per kind. Each names the option in its error
 * (a `RangeError`, or a `TypeError` for a string) and returns the value, or the documented
 * default when the value is undefined and a default is given (docs/limits.md). Options are
 * checked once, where they are taken in; a name that is a config path comes quoted
 * (`"plugins.tools.timeoutMs"`).
 */

/** An integer of at least 1: a count. */
export function positiveInt(name: string, value: number | undefined, fallback: number): number;
export function positiveInt(name: string, value: number | undefined): number | undefined;
export function positiveInt(name: string, value: number | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!isIntegerIn(value, 1, Number.MAX_SAFE_INTEGER)) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** A size in bytes: an integer of at least 1. */
export function byteSize(name: string, value: number | undefined, fallback: number): number;
export function byteSize(name: string, value: number | undefined): number | undefined;
export function byteSize(name: string, value: number | undefined, fallback?: number): number | undefined {
  return positiveInt(name, value, fallback as number);
}

/**
 * A delay in ms: an integer from 1 to 2^31 − 1, the longest a Node timer holds (a longer one
 * fires at once).
 */
export function delayMs(name: string, value: number | undefined, fallback: number): number;
export function delayMs(name: string, value: number | undefined): number | undefined;
export function delayMs(name: string, value: number | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!isIntegerIn(value, 1, MAX_TIMEOUT_MS)) throw new RangeError(`${name} must be a positive integer of at most ${MAX_TIMEOUT_MS} ms, got ${String(value)}`);
  return value;
}

/** An integer from `min` to `max` (a port: 0..65535). */
export function integerIn(name: string, value: number | undefined, min: number, max: number, fallback: number): number;
export function integerIn(name: string, value: number | undefined, min: number, max: number): number | undefined;
export function integerIn(name: string, value: number | undefined, min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!isIntegerIn(value, min, max)) throw new RangeError(`${name} must be an integer ${rangeText(min, max)}, got ${String(value)}`);
  return value;
}

/** A string with something besides white space. */
export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

/** Whether `value` is a safe integer from `min` to `max`. */
export function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}

/** `in 0..65535`, or `≥ 1` when there is no upper bound. */
export function rangeText(min: number, max: number): string {
  return max >= Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
}
