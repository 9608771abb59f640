import type pg from 'pg';
import type { Status } from '../../protocol/index.js';
import { CALLBACK_DUE } from '../statestore/postgres-state-store.js';
import { ALL_ITEMS_FAILED, FINISH_RUN, HAS_OPEN_CHUNK, LOCK_RUN, RUNS_CHANNEL } from './chunks-sql.js';
import { prepared } from '../statestore/prepared-statement.js';

/**
 * Finishes a run whose chunks are all done, in the caller's transaction: its row is locked first,
 * so of two nodes completing its last chunks at the same moment the second sees the first's chunk
 * done and only one finishes it (docs/cluster.md). The status follows the rule of docs/protocol.md:
 * cancelled if cancel-requested, failed if every item failed, else success. Returns whether it
 * finished the run here.
 */
export async function finishRunIfDone(client: pg.ClientBase, runId: string): Promise<boolean> {
  const run = await client.query<{ total: number; cancel_requested: boolean; completed_at: number | null }>(prepared(LOCK_RUN), [runId]);
  if (run.rows.length === 0 || run.rows[0].completed_at !== null) return false;
  const open = await client.query<{ open: boolean }>(prepared(HAS_OPEN_CHUNK), [runId]);
  if (open.rows[0].open) return false;
  const { total, cancel_requested: cancelled } = run.rows[0];
  const failed = !cancelled && total > 0 && (await client.query<{ all_failed: boolean }>(prepared(ALL_ITEMS_FAILED), [runId])).rows[0].all_failed;
  const status: Status = cancelled ? 'cancelled' : failed ? 'failed' : 'success';
  const finished = await client.query<{ completed_at: number }>(`${FINISH_RUN} RETURNING completed_at`, [runId, status]);
  if (finished.rowCount !== 1) return false;
  // The callback's outbox row falls due in the transaction that finishes the run (docs/callbacks.md).
  await client.query(CALLBACK_DUE, [runId, finished.rows[0].completed_at]);
  await client.query('SELECT pg_notify($1, $2)', [RUNS_CHANNEL, runId]);
  return true;
}
