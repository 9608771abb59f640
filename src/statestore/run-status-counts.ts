import type { Status } from '../../protocol/index.js';

/** How many stored runs have each status (`StateStore.countRunsByStatus`). */
export type RunStatusCounts = Record<Status, number>;

/** Every status at zero. */
export function emptyRunStatusCounts(): RunStatusCounts {
  return { pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 };
}

/**
 * Counts runs by status for both SQL backends, by the rule of `deriveRunStatus` (derive.ts): a
 * finished run has its stored status; an unfinished one is terminal by its items when none is
 * pending or running, else pending until an item started, then running. Unfinished runs are
 * classified with `EXISTS` probes of the `(run_id, status)` index, so a run of a million pending
 * items costs a lookup, not a count.
 */
export const COUNT_RUNS_BY_STATUS_SQL = `
  SELECT CASE
      WHEN r.completed_at IS NOT NULL THEN r.status
      WHEN NOT EXISTS (SELECT 1 FROM items i WHERE i.run_id = r.run_id AND i.status IN ('pending', 'running')) THEN
        CASE
          WHEN r.cancel_requested THEN 'cancelled'
          WHEN r.total > 0 AND NOT EXISTS (SELECT 1 FROM items i WHERE i.run_id = r.run_id AND i.status IN ('success', 'cancelled')) THEN 'failed'
          ELSE 'success'
        END
      WHEN EXISTS (SELECT 1 FROM items i WHERE i.run_id = r.run_id AND i.status IN ('running', 'success', 'failed', 'cancelled')) THEN 'running'
      ELSE 'pending'
    END AS status,
    count(*) AS n
  FROM runs r
  GROUP BY 1`;

/** The counts of the rows of {@link COUNT_RUNS_BY_STATUS_SQL}. */
export function runStatusCountsOf(rows: readonly { status: string; n: number | string }[]): RunStatusCounts {
  const counts = emptyRunStatusCounts();
  for (const row of rows) {
    if (row.status in counts) counts[row.status as Status] += Number(row.n);
  }
  return counts;
}
