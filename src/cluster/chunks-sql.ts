import { NOW_MS } from './nodes-sql.js';

/**
 * Every statement on the `chunks` table (docs/cluster.md). Lease times are ms of the database's
 * clock. Rows are locked in one order everywhere: chunks before runs, runs by `seq`, and cancels
 * take chunks only with SKIP LOCKED, so claims, completions and cancels never wait on each other
 * in a circle.
 */

/** Notification channels: new claimable work, a run turned terminal (payload: run id), runs cancelled (payload: ids, comma-separated). */
export const WORK_CHANNEL = 'flowrun_work';
export const RUNS_CHANNEL = 'flowrun_runs';
export const CANCEL_CHANNEL = 'flowrun_cancel';

/** A new run's chunks. `$1` run id, `$2` chunk size, `$3` items (> 0). */
export const INSERT_CHUNKS = `
  INSERT INTO chunks (run_id, chunk_index, run_seq, chunk_size, first_item, end_item)
  SELECT $1, g, (SELECT seq FROM runs WHERE run_id = $1), $2, g * $2, least((g + 1) * $2, $3)
  FROM generate_series(0, ($3::integer - 1) / $2::integer) AS g`;

/** A run of no items is terminal at birth. `$1` run id. */
export const FINISH_EMPTY_RUN = `UPDATE runs SET status = 'success', completed_at = created_at WHERE run_id = $1`;

/**
 * Claimable chunks, oldest run first: open, unheld or with an expired lease, of a run that is
 * cancelled or has slots left under its maxConcurrency. Locked, skipping those another node is
 * claiming. `$1` how many.
 */
export const CLAIM_CANDIDATES = `
  SELECT c.run_id, c.chunk_index, c.first_item, c.end_item
  FROM chunks c JOIN runs r ON r.run_id = c.run_id
  WHERE c.state = 'open' AND (c.holder IS NULL OR c.lease_until < ${NOW_MS})
    AND (r.cancel_requested OR r.max_concurrency > (
      SELECT coalesce(sum(h.slots), 0) FROM chunks h
      WHERE h.run_id = c.run_id AND h.state = 'open' AND h.holder IS NOT NULL AND h.lease_until >= ${NOW_MS}))
  ORDER BY c.run_seq, c.chunk_index
  LIMIT $1
  FOR UPDATE OF c SKIP LOCKED`;

/** A run's concurrency budget, its row locked so claims of one run are counted one after another. `$1` run id. */
export const RUN_SLOTS = `
  SELECT r.max_concurrency, r.cancel_requested,
    (SELECT coalesce(sum(h.slots), 0) FROM chunks h
     WHERE h.run_id = r.run_id AND h.state = 'open' AND h.holder IS NOT NULL AND h.lease_until >= ${NOW_MS})::integer AS used
  FROM runs r WHERE r.run_id = $1 FOR UPDATE`;

/** Takes the chunks: holder, a new epoch, a lease. `$1` node, `$2` lease ms, `$3..$5` run ids, chunk indices, slots. */
export const TAKE_CHUNKS = `
  UPDATE chunks c SET holder = $1, epoch = c.epoch + 1, lease_until = ${NOW_MS} + $2::bigint, slots = u.slots
  FROM unnest($3::text[], $4::integer[], $5::integer[]) AS u(run_id, chunk_index, slots)
  WHERE c.run_id = u.run_id AND c.chunk_index = u.chunk_index
  RETURNING c.run_id, c.chunk_index, c.chunk_size, c.first_item, c.end_item, c.epoch, c.slots`;

/**
 * The fence of a journal write: which of the given chunks this node still holds at the given
 * epoch, share-locked until the write commits (a claim cannot take them meanwhile).
 * `$1..$3` run ids, chunk indices, epochs; `$4` node.
 */
export const FENCE_CHUNKS = `
  SELECT c.run_id, c.chunk_index
  FROM chunks c JOIN unnest($1::text[], $2::integer[], $3::bigint[]) AS l(run_id, chunk_index, epoch)
    ON c.run_id = l.run_id AND c.chunk_index = l.chunk_index AND c.epoch = l.epoch
  WHERE c.holder = $4 AND c.state = 'open'
  FOR SHARE OF c`;

/** Item transitions of fenced chunks; completion order is cluster-wide (a sequence). `$1` JSON array of rows. */
export const UPDATE_ITEMS = `
  UPDATE items AS i SET
    status = u.status,
    attempts = u.attempts,
    result = CASE WHEN u.settled THEN u.result ELSE i.result END,
    completed_at = CASE WHEN u.settled THEN u.completed_at ELSE i.completed_at END,
    completion_seq = CASE WHEN u.settled THEN nextval('item_completion_seq') ELSE i.completion_seq END
  FROM json_to_recordset($1::json) AS u(run_id text, item_index integer, status text, attempts integer,
    settled boolean, result json, completed_at bigint)
  WHERE i.run_id = u.run_id AND i.item_index = u.item_index`;

/** Marks a held chunk done. `$1` run id, `$2` chunk index, `$3` node, `$4` epoch. */
export const COMPLETE_CHUNK = `
  UPDATE chunks SET state = 'done', holder = NULL, slots = 0
  WHERE run_id = $1 AND chunk_index = $2 AND holder = $3 AND epoch = $4 AND state = 'open'`;

/** A run's row, locked: whether it may finish now. `$1` run id. */
export const LOCK_RUN = `SELECT total, cancel_requested, completed_at FROM runs WHERE run_id = $1 FOR UPDATE`;

/** Whether a run has a chunk not done. `$1` run id. */
export const HAS_OPEN_CHUNK = `SELECT EXISTS (SELECT 1 FROM chunks WHERE run_id = $1 AND state = 'open') AS open`;

/** Item counts of a run by status. `$1` run id. */
export const COUNT_ITEMS = `SELECT status, count(*)::integer AS n FROM items WHERE run_id = $1 GROUP BY status`;

/** Finishes a run, once. `$1` run id, `$2` status. */
export const FINISH_RUN = `UPDATE runs SET status = $2, completed_at = ${NOW_MS} WHERE run_id = $1 AND completed_at IS NULL`;

/** A run and its descendants not yet terminal, locked oldest first. `$1` run id. */
export const LOCK_RUN_TREE = `
  WITH RECURSIVE tree(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = $1
    UNION SELECT r.run_id FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)
  SELECT r.run_id, r.cancel_requested FROM runs r JOIN tree USING (run_id)
  WHERE r.completed_at IS NULL ORDER BY r.seq FOR UPDATE OF r`;

/** `$1` run ids. */
export const MARK_CANCEL_REQUESTED = `UPDATE runs SET cancel_requested = true WHERE run_id = ANY($1::text[])`;

/**
 * Takes back the chunks of cancelled runs that no live node holds (a new epoch fences out an
 * expired holder) and returns their item ranges. `$1` run ids.
 */
export const CANCEL_UNHELD_CHUNKS = `
  WITH freed AS (
    SELECT run_id, chunk_index FROM chunks
    WHERE run_id = ANY($1::text[]) AND state = 'open' AND (holder IS NULL OR lease_until < ${NOW_MS})
    FOR UPDATE SKIP LOCKED)
  UPDATE chunks c SET state = 'done', holder = NULL, epoch = c.epoch + 1, slots = 0
  FROM freed f WHERE c.run_id = f.run_id AND c.chunk_index = f.chunk_index
  RETURNING c.run_id, c.first_item, c.end_item`;

/** Cancels the unfinished items of item ranges. `$1..$3` run ids, first items, end items. */
export const CANCEL_ITEMS = `
  UPDATE items i SET status = 'cancelled', completed_at = ${NOW_MS}, completion_seq = nextval('item_completion_seq')
  FROM unnest($1::text[], $2::integer[], $3::integer[]) AS d(run_id, first_item, end_item)
  WHERE i.run_id = d.run_id AND i.item_index >= d.first_item AND i.item_index < d.end_item
    AND i.status IN ('pending', 'running')`;

/** Renews this node's leases; returns what it still holds and whether their runs were cancelled. `$1` node, `$2` lease ms. */
export const RENEW_LEASES = `
  UPDATE chunks c SET lease_until = ${NOW_MS} + $2::bigint
  FROM runs r
  WHERE c.holder = $1 AND c.state = 'open' AND r.run_id = c.run_id
  RETURNING c.run_id, c.chunk_index, c.epoch, r.cancel_requested`;

/** This node's load for `flowrun nodes`. `$1` node, `$2` chunks held, `$3` items in flight. */
export const REPORT_LOAD = `UPDATE nodes SET chunks_held = $2, items_in_flight = $3 WHERE node_id = $1`;

/** Hands every lease of this node back. `$1` node. */
export const RELEASE_LEASES = `
  UPDATE chunks SET holder = NULL, lease_until = 0, slots = 0 WHERE holder = $1 AND state = 'open'`;

/** Unfinished children of items that run again. `$1` parent run id, `$2` item indices. */
export const STALE_CHILDREN = `
  SELECT run_id FROM runs
  WHERE parent_run_id = $1 AND parent_item_index = ANY($2::integer[]) AND completed_at IS NULL`;

/** Which of the given runs are terminal (or gone). `$1` run ids. */
export const FINISHED_RUNS = `
  SELECT u.run_id FROM unnest($1::text[]) AS u(run_id)
  LEFT JOIN runs r ON r.run_id = u.run_id
  WHERE r.run_id IS NULL OR r.completed_at IS NOT NULL`;
