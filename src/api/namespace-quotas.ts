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

/**
 * A namespace's counters kept in the state store every node of a cluster shares, so its quotas
 * hold cluster-wide (docs/security.md, "Quotas").
 */
export interface SharedQuotaCounts {
  /** Runs of the namespace not finished yet, on every node; counting may stop at `upTo`. */
  liveRuns(namespace: string, upTo: number): Promise<number>;
  /** Takes one submit from the namespace's bucket (refilled at `perSecond`, holding at most `capacity`); false when it holds less than one. */
  takeSubmit(namespace: string, perSecond: number, capacity: number): Promise<boolean>;
}

/** A namespace's bucket of submits: refilled at `submitsPerSecond`, holding at most one second's worth. */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Quotas per namespace, checked when a token submits a run (docs/security.md): its namespace's
 * live runs, the run's items, and submits per second (a token bucket per namespace). Each
 * namespace has its own counters, so one at its limit is refused at once and never slows
 * another. In one process the counters are in memory; on a cluster, in the shared store.
 */
export class NamespaceQuotas {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * @param quotas by namespace; `*` for every namespace without an entry; absent keys take {@link DEFAULT_QUOTA}.
   * @param liveRuns how many runs of a namespace are not finished yet (in this process).
   * @param shared on a cluster: the counters every node shares, used instead of `liveRuns` and the buckets in memory.
   */
  constructor(
    private readonly quotas: Readonly<Record<string, NamespaceQuota>>,
    private readonly liveRuns: (namespace: string) => number,
    private readonly now: () => number = Date.now,
    private readonly shared?: SharedQuotaCounts,
  ) {}

  /** The quota of a namespace, defaults filled in. */
  quotaOf(namespace: string): Required<NamespaceQuota> {
    return { ...DEFAULT_QUOTA, ...this.quotas['*'], ...this.quotas[namespace] };
  }

  /**
   * Takes one submit of a run of `items` items for `namespace`, or throws `-32014` naming the
   * quota; a refused submit takes nothing from the namespace's bucket.
   */
  async admit(namespace: string, items: number): Promise<void> {
    const quota = this.quotaOf(namespace);
    if (items > quota.maxItemsPerRun) throw overQuota(namespace, 'maxItemsPerRun', quota.maxItemsPerRun, `a run of ${items} items`);
    const live = this.shared ? await this.shared.liveRuns(namespace, quota.maxLiveRuns) : this.liveRuns(namespace);
    if (live >= quota.maxLiveRuns) throw overQuota(namespace, 'maxLiveRuns', quota.maxLiveRuns, `${live} runs not finished yet`);
    const perSecond = quota.submitsPerSecond;
    const taken = this.shared ? await this.shared.takeSubmit(namespace, perSecond, capacityOf(perSecond)) : this.takeSubmit(namespace, perSecond);
    if (!taken) throw overQuota(namespace, 'submitsPerSecond', perSecond, 'submitting faster');
  }

  private takeSubmit(namespace: string, perSecond: number): boolean {
    const now = this.now();
    const capacity = capacityOf(perSecond);
    const bucket = this.buckets.get(namespace) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(namespace, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** A bucket holds one second's submits, and at least one. */
function capacityOf(perSecond: number): number {
  return Math.max(1, perSecond);
}

function overQuota(namespace: string, quota: keyof NamespaceQuota, max: number, what: string): RpcError {
  return new RpcError(
    ErrorCodes.TooManyRequests,
    `quota exceeded: namespace ${namespace} allows ${quota} ${max}; ${what} is refused, try again later`,
    { quota, max, namespace },
  );
}
