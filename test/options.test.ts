import { describe, expect, it } from 'vitest';
import { MAX_TIMEOUT_MS } from '../protocol/index.js';
import { byteSize, delayMs, integerIn, isIntegerIn, nonEmptyString, positiveInt, rangeText } from '../src/options.js';

describe('option checks', () => {
  it('positiveInt: an integer ≥ 1, the default when undefined, else a RangeError naming the option', () => {
    expect(positiveInt('maxInFlight', 3, 64)).toBe(3);
    expect(positiveInt('maxInFlight', undefined, 64)).toBe(64);
    expect(positiveInt('maxInFlight', undefined)).toBeUndefined();
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => positiveInt('maxInFlight', bad, 64)).toThrow(new RangeError(`maxInFlight must be a positive integer, got ${bad}`));
    }
  });

  it('byteSize: a positive integer of bytes', () => {
    expect(byteSize('maxMessageBytes', undefined, 1024)).toBe(1024);
    expect(byteSize('maxMessageBytes', 1)).toBe(1);
    expect(() => byteSize('maxMessageBytes', 0, 1024)).toThrow('maxMessageBytes must be a positive integer, got 0');
  });

  it('delayMs: 1 … 2^31 − 1 ms, the longest delay a timer holds', () => {
    expect(delayMs('pingIntervalMs', MAX_TIMEOUT_MS, 15_000)).toBe(MAX_TIMEOUT_MS);
    expect(delayMs('pingIntervalMs', undefined, 15_000)).toBe(15_000);
    expect(() => delayMs('"plugins.tools.timeoutMs"', MAX_TIMEOUT_MS + 1)).toThrow(
      new RangeError(`"plugins.tools.timeoutMs" must be a positive integer of at most ${MAX_TIMEOUT_MS} ms, got ${MAX_TIMEOUT_MS + 1}`),
    );
    expect(() => delayMs('connectTimeoutMs', 0, 10_000)).toThrow(RangeError);
  });

  it('integerIn: an integer in a range, named with the range', () => {
    expect(integerIn('port', 0, 0, 65535)).toBe(0);
    expect(integerIn('port', undefined, 0, 65535, 7837)).toBe(7837);
    expect(() => integerIn('port', 65536, 0, 65535)).toThrow('port must be an integer in 0..65535, got 65536');
    expect(isIntegerIn(5, 1, 5)).toBe(true);
    expect(isIntegerIn(6, 1, 5)).toBe(false);
    expect(rangeText(1, Number.MAX_SAFE_INTEGER)).toBe('≥ 1');
  });

  it('nonEmptyString: something besides white space, else a TypeError naming the option', () => {
    expect(nonEmptyString('command', 'node')).toBe('node');
    for (const bad of ['', '  ', undefined, 3]) expect(() => nonEmptyString('command', bad)).toThrow(new TypeError('command must be a non-empty string'));
  });
});
