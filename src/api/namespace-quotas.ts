import { ErrorCodes, RpcError } from '../../protocol/index.js';

/** What one namespace may do (docs/security.md, "Quotas"). */
export interface NamespaceQuota {
  /** Runs of the namespace not yet finished at once. Default {@link DEFAULT_QUOTA}. */
  maxLiveRuns?: number;
  /** Items (inputs) of one run. */
  maxItemsPerRun?: number;
  /** Runs submitted per second, with bursts of as many at once. */
  submitsPerSecond?: number;
}

/** The quota of a namespace that the config gives none (docs/security.md). */
export const DEFAULT_QUOTA: Required<NamespaceQuota> = { maxLiveRuns: 1000, maxItemsPerRun: 1_000_000, submitsPerSecond: 50 };

/** A namespace's bucket of submits: refilled at `submitsPerSecond`, holding at most one second's worth. */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Quotas per namespace, checked when a token submits a run (docs/security.md): its namespace's
 * live runs, the run's items, and submits per second (a token bucket per namespace). Each
 * namespace has its own counters, so one at its limit is refused at once and never slows
 * another.
 */
export class NamespaceQuotas {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * @param quotas by namespace; `*` for every namespace without an entry; absent keys take {@link DEFAULT_QUOTA}.
   * @param liveRuns how many runs of a namespace are not finished yet.
   */
  constructor(
    private readonly quotas: Readonly<Record<string, NamespaceQuota>>,
    private readonly liveRuns: (namespace: string) => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The quota of a namespace, defaults filled in. */
  quotaOf(namespace: string): Required<NamespaceQuota> {
    return { ...DEFAULT_QUOTA, ...this.quotas['*'], ...this.quotas[namespace] };
  }

  /** Takes one submit of a run of `items` items for `namespace`, or throws `-32014` naming the quota. */
  admit(namespace: string, items: number): void {
    const quota = this.quotaOf(namespace);
    if (items > quota.maxItemsPerRun) throw overQuota(namespace, 'maxItemsPerRun', quota.maxItemsPerRun, `a run of ${items} items`);
    const live = this.liveRuns(namespace);
    if (live >= quota.maxLiveRuns) throw overQuota(namespace, 'maxLiveRuns', quota.maxLiveRuns, `${live} runs not finished yet`);
    this.takeSubmit(namespace, quota.submitsPerSecond);
  }

  private takeSubmit(namespace: string, perSecond: number): void {
    const now = this.now();
    const capacity = Math.max(1, perSecond);
    const bucket = this.buckets.get(namespace) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(namespace, bucket);
    if (bucket.tokens < 1) throw overQuota(namespace, 'submitsPerSecond', perSecond, 'submitting faster');
    bucket.tokens -= 1;
  }
}

function overQuota(namespace: string, quota: keyof NamespaceQuota, max: number, what: string): RpcError {
  return new RpcError(
    ErrorCodes.TooManyRequests,
    `quota exceeded: namespace ${namespace} allows ${quota} ${max}; ${what} is refused, try again later`,
    { quota, max, namespace },
  );
}
