import type { Status } from '../../protocol/index.js';
import type { DeleteRunOutcome } from './state-store.js';

/** A run of the tree `runTreeSql` selects. */
export interface RunTreeRow {
  run_id: string;
  flow_id: string;
  status: string;
  completed_at: number | null;
  total: number;
}

/**
 * A run and its child runs, recursively, the run first (both SQL backends; `param` binds the
 * run id): what `runs/delete` deletes (docs/retention.md).
 */
export function runTreeSql(param: string): string {
  return `
    WITH RECURSIVE tree(run_id, depth) AS (
      SELECT run_id, 0 FROM runs WHERE run_id = ${param}
      UNION ALL
      SELECT r.run_id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)
    SELECT r.run_id, r.flow_id, r.status, r.completed_at, r.total
    FROM runs r JOIN tree t ON r.run_id = t.run_id ORDER BY t.depth, r.seq`;
}

/** Terminal runs finished before `$cutoff` whose parent (if any) is gone, oldest first: what retention deletes. */
export function expiredRunsSql(cutoff: string, limit: string): string {
  return `
    SELECT r.run_id FROM runs r
    WHERE r.completed_at IS NOT NULL AND r.completed_at < ${cutoff}
      AND (r.parent_run_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs p WHERE p.run_id = r.parent_run_id))
    ORDER BY r.completed_at LIMIT ${limit}`;
}

/** Flow ids of the stored runs, with how many runs run each. */
export const FLOW_USES_SQL = 'SELECT flow_id, count(*) AS n FROM runs GROUP BY flow_id';

/** The tables holding a run's rows, children of `runs` first (`chunks` exists only in PostgreSQL). */
export const RUN_ROW_TABLES = ['items', 'callbacks'] as const;

/** What deleting a run tree would do: refused when one of its runs is not finished. */
export function deletionOf(tree: readonly RunTreeRow[]): DeleteRunOutcome {
  if (tree.length === 0) return { outcome: 'notFound' };
  const unfinished = tree.find((row) => row.completed_at === null);
  if (unfinished) return { outcome: 'notTerminal', runId: unfinished.run_id, status: unfinished.status as Status };
  return {
    outcome: 'deleted',
    runIds: tree.map((row) => row.run_id),
    flowIds: tree.map((row) => row.flow_id),
    items: tree.reduce((n, row) => n + Number(row.total), 0),
  };
}
