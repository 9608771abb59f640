/** What the counters need of a PostgreSQL state store: one statement on its pool, outside the journal's order. */
interface StatementRunner {
  query<R extends Record<string, unknown>>(sql: string, params: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

/**
 * A namespace's runs not finished yet, counted through the partial index `runs_live_by_namespace`
 * and only up to the quota: a submit reads at most `maxLiveRuns` index entries. The count is not
 * serialized with the run's insert (another transaction, in the node's write order): two submits
 * racing on two nodes at the very limit may both pass. Holding a lock of the namespace from the
 * count to the insert would make the node's journal writes wait on another node's submits.
 */
const COUNT_LIVE_RUNS = `
  SELECT count(*)::int AS n FROM (SELECT 1 FROM runs WHERE namespace = $1 AND completed_at IS NULL LIMIT $2) AS live`;

/**
 * Takes one submit from a namespace's token bucket, on the database's clock (one clock for every
 * node): refill since the last taken submit at $2 per second, at most $3, then take one if there
 * is one. One row per namespace, updated by one statement: concurrent submits on any nodes queue
 * on that row's lock, so the count is exact, and never on another namespace's row. A refused
 * submit updates nothing and answers no row. (Counting the namespace's runs created in the last
 * second would not be exact without a lock: two nodes would each count before the other's insert
 * commits.)
 */
const TAKE_SUBMIT = `
  INSERT INTO namespace_submits AS s (namespace, tokens, at)
  SELECT $1, $3::float8 - 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  ON CONFLICT (namespace) DO UPDATE
    SET tokens = least($3::float8, s.tokens + greatest(0, EXCLUDED.at - s.at) * $2::float8 / 1000) - 1,
        at = greatest(s.at, EXCLUDED.at)
    WHERE least($3::float8, s.tokens + greatest(0, EXCLUDED.at - s.at) * $2::float8 / 1000) >= 1
  RETURNING tokens`;

/**
 * The quota counters of a cluster, in its shared PostgreSQL database (docs/security.md,
 * "Quotas"): live runs are the namespace's rows not completed, so every node counts the runs of
 * every node; submits per second are one token bucket per namespace in `namespace_submits`. Each
 * submit of a token costs these two statements.
 */
export class PostgresQuotaCounts {
  constructor(private readonly store: StatementRunner) {}

  async liveRuns(namespace: string, upTo: number): Promise<number> {
    const { rows } = await this.store.query<{ n: number }>(COUNT_LIVE_RUNS, [namespace, upTo]);
    return rows[0].n;
  }

  async takeSubmit(namespace: string, perSecond: number, capacity: number): Promise<boolean> {
    return (await this.store.query(TAKE_SUBMIT, [namespace, perSecond, capacity])).rowCount > 0;
  }
}
