import { deriveRunStatus } from './derive.js';
import { decodeSeqCursor, encodeSeqCursor } from './seq-cursor.js';
import { countsByRun, firstStartsByRun, recordOfRow, stateOfRow, type RunRow, type StatusCountRow } from './sql-rows.js';
import type { RunQuery, RunSummary } from './state-store.js';

/** What `listRunsFrom` needs of a SQL backend. */
export interface RunListSource {
  /** Up to `limit` runs matching `runQueryCondition`, in the query's order, past `afterSeq` when given. */
  candidates(query: RunQuery, afterSeq: number | undefined, limit: number): Promise<RunRow[]>;
  /** Item counts by status of the given runs (the backend's one GROUP BY query). */
  statusCounts(runIds: readonly string[]): Promise<StatusCountRow[]>;
}

/** Runs in the query's order with derived status and counters, filtered, after the cursor (the seq of the last run of the previous page). */
export async function listRunsFrom(source: RunListSource, query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
  let beforeSeq = query.cursor === undefined ? undefined : decodeSeqCursor(query.cursor);
  // A cursor we never issued selects nothing, like a page past the end.
  if (beforeSeq === null || query.limit <= 0 || query.statuses?.length === 0) return { runs: [] };
  const statuses = query.statuses && new Set(query.statuses);
  // One more than a page, so a full page knows cheaply whether older candidates exist.
  const chunk = query.limit + 1;
  const runs: RunSummary[] = [];
  for (;;) {
    const rows = await source.candidates(query, beforeSeq, chunk);
    const runIds = rows.map((row) => row.run_id);
    const countRows = await source.statusCounts(runIds);
    const counts = countsByRun(runIds, countRows);
    const starts = firstStartsByRun(countRows);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k];
      const runCounts = counts.get(row.run_id)!;
      const state = stateOfRow(row);
      const status = deriveRunStatus(state, runCounts);
      if (statuses && !statuses.has(status)) continue;
      const summary: RunSummary = { record: recordOfRow(row), state: { ...state, status }, counts: runCounts };
      const startedAt = starts.get(row.run_id);
      if (startedAt !== undefined) summary.startedAt = startedAt;
      runs.push(summary);
      if (runs.length === query.limit) {
        const more = k < rows.length - 1 || (rows.length === chunk && (await source.candidates(query, row.seq, 1)).length > 0);
        return more ? { runs, nextCursor: encodeSeqCursor(row.seq) } : { runs };
      }
    }
    if (rows.length < chunk) return { runs };
    beforeSeq = rows[rows.length - 1].seq;
  }
}
