import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { DEFAULT_QUOTA, NamespaceQuotas, type SharedQuotaCounts } from '../../src/api/namespace-quotas.js';

/** A clock the test moves by hand: the token bucket is checked without waiting. */
function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** The error an admission is refused with, or undefined when it was admitted. */
const refusalOf = (admission: Promise<void>): Promise<unknown> =>
  admission.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('NamespaceQuotas', () => {
  it('lets a burst of one second’s submits through, then one more per 1/submitsPerSecond', async () => {
    const time = clock();
    const quotas = new NamespaceQuotas({ a: { submitsPerSecond: 3 } }, () => 0, time.now);
    for (let i = 0; i < 3; i++) await quotas.admit('a', 1);
    expect(await refusalOf(quotas.admit('a', 1))).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'submitsPerSecond', max: 3, namespace: 'a' } });
    time.advance(340);
    await quotas.admit('a', 1);
    expect(await refusalOf(quotas.admit('a', 1))).toBeDefined();
  });

  it('keeps each namespace’s bucket apart: one at its limit does not refuse another', async () => {
    const time = clock();
    const quotas = new NamespaceQuotas({ '*': { submitsPerSecond: 1 } }, () => 0, time.now);
    await quotas.admit('a', 1);
    expect(await refusalOf(quotas.admit('a', 1))).toBeDefined();
    await quotas.admit('b', 1);
  });

  it('refuses live runs and items beyond the quota, and fills in the defaults', async () => {
    const live = new Map([['a', 2]]);
    const quotas = new NamespaceQuotas({ a: { maxLiveRuns: 2 }, '*': { maxItemsPerRun: 10 } }, (ns) => live.get(ns) ?? 0);
    expect(await refusalOf(quotas.admit('a', 1))).toMatchObject({ data: { quota: 'maxLiveRuns', max: 2 } });
    expect(await refusalOf(quotas.admit('b', 11))).toMatchObject({ data: { quota: 'maxItemsPerRun', max: 10 } });
    expect(quotas.quotaOf('c')).toEqual({ ...DEFAULT_QUOTA, maxItemsPerRun: 10 });
  });

  it('counts with the shared counters when given: live runs up to the quota, and a refused submit takes nothing', async () => {
    const asked: string[] = [];
    let bucket = 1;
    const shared: SharedQuotaCounts = {
      liveRuns: async (namespace, upTo) => {
        asked.push(`live ${namespace} ${upTo}`);
        return namespace === 'full' ? 5 : 0;
      },
      takeSubmit: async (namespace, perSecond, capacity) => {
        asked.push(`take ${namespace} ${perSecond} ${capacity}`);
        return bucket-- > 0;
      },
    };
    const quotas = new NamespaceQuotas({ full: { maxLiveRuns: 5 }, a: { submitsPerSecond: 0.5 } }, () => 0, Date.now, shared);
    expect(await refusalOf(quotas.admit('full', 1))).toMatchObject({ data: { quota: 'maxLiveRuns', max: 5, namespace: 'full' } });
    await quotas.admit('a', 1);
    expect(await refusalOf(quotas.admit('a', 1))).toMatchObject({ data: { quota: 'submitsPerSecond', max: 0.5, namespace: 'a' } });
    // Over its live runs, `full` took no submit; a bucket of under one per second holds one.
    expect(asked).toEqual([`live full 5`, `live a ${DEFAULT_QUOTA.maxLiveRuns}`, 'take a 0.5 1', `live a ${DEFAULT_QUOTA.maxLiveRuns}`, 'take a 0.5 1']);
  });
});
