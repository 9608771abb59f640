import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { DEFAULT_QUOTA, NamespaceQuotas } from '../../src/api/namespace-quotas.js';

/** A clock the test moves by hand: the token bucket is checked without waiting. */
function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const refusalOf = (f: () => void): unknown => {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('NamespaceQuotas', () => {
  it('lets a burst of one second’s submits through, then one more per 1/submitsPerSecond', () => {
    const time = clock();
    const quotas = new NamespaceQuotas({ a: { submitsPerSecond: 3 } }, () => 0, time.now);
    for (let i = 0; i < 3; i++) quotas.admit('a', 1);
    expect(refusalOf(() => quotas.admit('a', 1))).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'submitsPerSecond', max: 3, namespace: 'a' } });
    time.advance(340);
    quotas.admit('a', 1);
    expect(refusalOf(() => quotas.admit('a', 1))).toBeDefined();
  });

  it('keeps each namespace’s bucket apart: one at its limit does not refuse another', () => {
    const time = clock();
    const quotas = new NamespaceQuotas({ '*': { submitsPerSecond: 1 } }, () => 0, time.now);
    quotas.admit('a', 1);
    expect(refusalOf(() => quotas.admit('a', 1))).toBeDefined();
    quotas.admit('b', 1);
  });

  it('refuses live runs and items beyond the quota, and fills in the defaults', () => {
    const live = new Map([['a', 2]]);
    const quotas = new NamespaceQuotas({ a: { maxLiveRuns: 2 }, '*': { maxItemsPerRun: 10 } }, (ns) => live.get(ns) ?? 0);
    expect(refusalOf(() => quotas.admit('a', 1))).toMatchObject({ data: { quota: 'maxLiveRuns', max: 2 } });
    expect(refusalOf(() => quotas.admit('b', 11))).toMatchObject({ data: { quota: 'maxItemsPerRun', max: 10 } });
    expect(quotas.quotaOf('c')).toEqual({ ...DEFAULT_QUOTA, maxItemsPerRun: 10 });
  });
});
