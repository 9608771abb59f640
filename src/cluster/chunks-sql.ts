import { NOW_MS } from './nodes-sql.js';

/**
 * Every statement on the `chunks` table (docs/cluster.md). Lease times are ms of the database's
 * clock. Only a claim (a new holder and epoch) locks a chunk `FOR UPDATE`, the one lock that
 * conflicts with a fenced journal write's `FOR KEY SHARE`. Rows are locked in one order everywhere: chunks before runs, runs by `seq`, and cancels
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
 * Claimable chunks, oldest run first: open, unheld, with an expired lease, or claimed ahead by a
 * node that has not started it (`prefetched`: a node with slots to spare takes it over), of a run
 * that is cancelled or has slots left under its maxConcurrency, and not among the runs this node
 * cannot execute now. Locked, skipping those another node is claiming. The slots in use are summed
 * once per run over the held chunks (a sum per candidate cost ≈ 4 ms a claim while a big run had
 * no slot left: every open chunk of it was a candidate). `$1` how many, `$2` run ids to leave.
 */
export const CLAIM_CANDIDATES = `
  WITH busy AS (
    SELECT h.run_id, sum(h.slots) AS used FROM chunks h
    WHERE h.state = 'open' AND h.holder IS NOT NULL AND h.lease_until >= ${NOW_MS}
    GROUP BY h.run_id)
  SELECT c.run_id, c.chunk_index, c.first_item, c.end_item
  FROM chunks c JOIN runs r ON r.run_id = c.run_id LEFT JOIN busy b ON b.run_id = c.run_id
  WHERE c.state = 'open' AND (c.holder IS NULL OR c.lease_until < ${NOW_MS} OR c.prefetched)
    AND NOT (c.run_id = ANY($2::text[]))
    AND (r.cancel_requested OR r.max_concurrency > coalesce(b.used, 0))
  ORDER BY c.run_seq, c.chunk_index
  LIMIT $1
  FOR UPDATE OF c SKIP LOCKED`;

/** Locks a run's row, so claims of one run count its slots one after another. `$1` run id. */
export const LOCK_RUN_FOR_SLOTS = `SELECT max_concurrency, cancel_requested FROM runs WHERE run_id = $1 FOR UPDATE`;

/**
 * A run's slots in use, how many nodes are alive and how many of its chunks are open (a chunk's
 * share depends on both). A statement of its own after `LOCK_RUN_FOR_SLOTS`: it sees every claim
 * committed while the lock was awaited (in the locking statement, a subquery would not).
 * and how many of its chunks with slots this node holds. `$1` run id, `$2` lease ms, `$3` node.
 */
export const RUN_SLOTS = `
  SELECT
    (SELECT coalesce(sum(h.slots), 0) FROM chunks h
     WHERE h.run_id = $1 AND h.state = 'open' AND h.holder IS NOT NULL AND h.lease_until >= ${NOW_MS})::integer AS used,
    (SELECT count(*) FROM nodes WHERE heartbeat_at > ${NOW_MS} - $2::bigint)::integer AS nodes,
    (SELECT count(*) FROM chunks o WHERE o.run_id = $1 AND o.state = 'open')::integer AS open_chunks,
    (SELECT count(*) FROM chunks m
     WHERE m.run_id = $1 AND m.state = 'open' AND m.holder = $3 AND m.slots > 0 AND m.lease_until >= ${NOW_MS})::integer AS mine`;

/**
 * Claims the next claimable chunk of a run without slots: this node prepares it while it runs
 * others of the run, and hands it their slots when one ends. Claimed `prefetched`, another node
 * with slots to spare may take it over until it starts. Claimed reserved (asked with `$4`, and
 * only while every slot of the run is in use: no other node could start it sooner), it is this
 * node's next chunk of the run, which starts on a settled chunk's slots without waiting for the
 * database. `$1` run id, `$2` node, `$3` lease ms, `$4` reserve.
 */
export const CLAIM_SUCCESSOR = `
  WITH c AS (
    SELECT run_id, chunk_index FROM chunks
    WHERE run_id = $1 AND state = 'open' AND (holder IS NULL OR lease_until < ${NOW_MS})
    ORDER BY chunk_index LIMIT 1
    FOR UPDATE SKIP LOCKED)
  UPDATE chunks t SET holder = $2, epoch = t.epoch + 1, lease_until = ${NOW_MS} + $3::bigint, slots = 0,
    prefetched = NOT ($4::boolean AND (SELECT r.max_concurrency <= (
      SELECT coalesce(sum(h.slots), 0) FROM chunks h
      WHERE h.run_id = $1 AND h.state = 'open' AND h.holder IS NOT NULL AND h.lease_until >= ${NOW_MS}) FROM runs r WHERE r.run_id = $1))
  FROM c WHERE t.run_id = c.run_id AND t.chunk_index = c.chunk_index
  RETURNING t.run_id, t.chunk_index, t.chunk_size, t.first_item, t.end_item, t.epoch, t.slots, t.prefetched,
    (SELECT cancel_requested FROM runs WHERE run_id = $1) AS cancel_requested`;

/**
 * Moves a settled chunk's slots to another chunk of the run held by this node, both at their
 * epochs and under live leases (an expired lease's slots count as free to others), or changes nothing: the run's slots in use stay the same, so no budget check is needed.
 * `$1` run id, `$2` node, `$3`/`$4` from chunk and epoch, `$5`/`$6` to chunk and epoch, `$7` slots.
 */
export const TRANSFER_SLOTS = `
  WITH pair AS (
    SELECT run_id, chunk_index FROM chunks
    WHERE run_id = $1 AND holder = $2 AND state = 'open' AND lease_until >= ${NOW_MS}
      AND ((chunk_index = $3 AND epoch = $4) OR (chunk_index = $5 AND epoch = $6))
    FOR NO KEY UPDATE)
  UPDATE chunks c SET slots = CASE WHEN c.chunk_index = $3 THEN 0 ELSE $7::integer END, prefetched = false
  FROM pair p
  WHERE c.run_id = p.run_id AND c.chunk_index = p.chunk_index AND (SELECT count(*) FROM pair) = 2`;

/** Gives a held chunk slots. `$1` run id, `$2` chunk index, `$3` node, `$4` epoch, `$5` slots. */
export const GRANT_SLOTS = `
  UPDATE chunks SET slots = $5, prefetched = false
  WHERE run_id = $1 AND chunk_index = $2 AND holder = $3 AND epoch = $4 AND state = 'open' AND lease_until >= ${NOW_MS}`;

/** Takes the chunks: holder, a new epoch, a lease. `$1` node, `$2` lease ms, `$3..$5` run ids, chunk indices, slots. */
export const TAKE_CHUNKS = `
  UPDATE chunks c SET holder = $1, epoch = c.epoch + 1, lease_until = ${NOW_MS} + $2::bigint, slots = u.slots, prefetched = false
  FROM unnest($3::text[], $4::integer[], $5::integer[]) AS u(run_id, chunk_index, slots)
  WHERE c.run_id = u.run_id AND c.chunk_index = u.chunk_index
  RETURNING c.run_id, c.chunk_index, c.chunk_size, c.first_item, c.end_item, c.epoch, c.slots`;

/**
 * A fenced journal write, one statement (so one transaction): the given chunks this node still
 * holds at the given epochs are locked `FOR KEY SHARE`, and only the items inside them are written;
 * completion order is cluster-wide (a sequence). A claim changes a chunk's holder and epoch only
 * under `FOR UPDATE`, which waits for (or skips) that lock; moving slots, renewing a lease or
 * completing a chunk take weaker locks and do not wait for journal writes. Returns the
 * chunks found held. `$1..$3` run ids, chunk indices, epochs; `$4` node; `$5` JSON array of rows.
 */
export const WRITE_FENCED = `
  WITH fence AS (
    SELECT c.run_id, c.chunk_index, c.first_item, c.end_item
    FROM chunks c JOIN unnest($1::text[], $2::integer[], $3::bigint[]) AS l(run_id, chunk_index, epoch)
      ON c.run_id = l.run_id AND c.chunk_index = l.chunk_index AND c.epoch = l.epoch
    WHERE c.holder = $4 AND c.state = 'open'
    FOR KEY SHARE OF c),
  written AS (
    UPDATE items AS i SET
      status = u.status,
      attempts = u.attempts,
      result = CASE WHEN u.settled THEN u.result ELSE i.result END,
      completed_at = CASE WHEN u.settled THEN u.completed_at ELSE i.completed_at END,
      completion_seq = CASE WHEN u.settled THEN nextval('item_completion_seq') ELSE i.completion_seq END,
      started_at = COALESCE(u.started_at, i.started_at),
      steps = CASE WHEN u.settled THEN u.steps ELSE i.steps END
    FROM json_to_recordset($5::json) AS u(run_id text, item_index integer, status text, attempts integer,
      settled boolean, result json, completed_at bigint, started_at bigint, steps json), fence f
    WHERE i.run_id = u.run_id AND i.item_index = u.item_index
      AND f.run_id = u.run_id AND u.item_index >= f.first_item AND u.item_index < f.end_item
    RETURNING 1)
  SELECT run_id, chunk_index FROM fence`;

/**
 * Marks held chunks done with their items' final counts (NULL when not given); returns those still
 * held at their epochs. `$1` node, `$2..$4` run ids, chunk indices, epochs, `$5..$7` items
 * succeeded, failed and cancelled.
 */
export const COMPLETE_CHUNKS = `
  UPDATE chunks c SET state = 'done', holder = NULL, slots = 0, done_success = u.success, done_failed = u.failed, done_cancelled = u.cancelled
  FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::integer[], $6::integer[], $7::integer[]) AS u(run_id, chunk_index, epoch, success, failed, cancelled)
  WHERE c.run_id = u.run_id AND c.chunk_index = u.chunk_index AND c.epoch = u.epoch AND c.holder = $1 AND c.state = 'open'
  RETURNING c.run_id, c.chunk_index`;

/** A held chunk's items all settled: its slots are free. `$1` run id, `$2` chunk index, `$3` node, `$4` epoch. */
export const RELEASE_SLOTS = `
  UPDATE chunks SET slots = 0
  WHERE run_id = $1 AND chunk_index = $2 AND holder = $3 AND epoch = $4 AND state = 'open'`;

/** A run's row, locked: whether it may finish now. `$1` run id. */
export const LOCK_RUN = `SELECT total, cancel_requested, completed_at FROM runs WHERE run_id = $1 FOR UPDATE`;

/** Whether a run has a chunk not done. `$1` run id. */
export const HAS_OPEN_CHUNK = `SELECT EXISTS (SELECT 1 FROM chunks WHERE run_id = $1 AND state = 'open') AS open`;

/** Whether every item of a run failed (stops at the first that did not). `$1` run id. */
export const ALL_ITEMS_FAILED = `SELECT NOT EXISTS (SELECT 1 FROM items WHERE run_id = $1 AND status <> 'failed') AS all_failed`;

/**
 * A run's item counts by status, chunk by chunk, for its progress. A chunk never claimed (epoch 0,
 * open) has every item pending: those are summed from the chunk rows (chunk -1) without reading
 * items; a done chunk whose completing node stored its counts answers from its row; each other
 * chunk is one range of the items' key. Done chunks in `$2` are left out: their items are terminal
 * and stay so, and the caller counted them before. `$1` run id, `$2` chunk indices.
 */
export const CHUNK_ITEM_COUNTS = `
  SELECT -1 AS chunk_index, false AS done, coalesce(sum(end_item - first_item), 0)::integer AS pending,
    0 AS running, 0 AS success, 0 AS failed, 0 AS cancelled
  FROM chunks WHERE run_id = $1 AND epoch = 0 AND state = 'open'
  UNION ALL
  SELECT chunk_index, true, 0, 0, done_success, done_failed, done_cancelled
  FROM chunks WHERE run_id = $1 AND state = 'done' AND done_success IS NOT NULL AND NOT (chunk_index = ANY($2::integer[]))
  UNION ALL
  SELECT c.chunk_index, c.state = 'done', s.pending, s.running, s.success, s.failed, s.cancelled
  FROM chunks c CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE i.status = 'pending')::integer AS pending,
      count(*) FILTER (WHERE i.status = 'running')::integer AS running,
      count(*) FILTER (WHERE i.status = 'success')::integer AS success,
      count(*) FILTER (WHERE i.status = 'failed')::integer AS failed,
      count(*) FILTER (WHERE i.status = 'cancelled')::integer AS cancelled
    FROM items i WHERE i.run_id = c.run_id AND i.item_index >= c.first_item AND i.item_index < c.end_item) s
  WHERE c.run_id = $1 AND NOT (c.epoch = 0 AND c.state = 'open') AND NOT (c.state = 'done' AND c.done_success IS NOT NULL)
    AND NOT (c.chunk_index = ANY($2::integer[]))`;

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

/**
 * Renews the leases this node holds and still works on (a chunk it gave up is left to expire);
 * returns those it still holds and whether their runs were cancelled. An expired lease is not
 * revived, even if no node claimed the chunk yet: its slots may have been counted free and taken
 * for other chunks, so its holder gives it up.
 * `$1` node, `$2` lease ms, `$3..$5` run ids, chunk indices, epochs.
 */
export const RENEW_LEASES = `
  UPDATE chunks c SET lease_until = ${NOW_MS} + $2::bigint
  FROM unnest($3::text[], $4::integer[], $5::bigint[]) AS l(run_id, chunk_index, epoch), runs r
  WHERE c.run_id = l.run_id AND c.chunk_index = l.chunk_index AND c.epoch = l.epoch
    AND c.holder = $1 AND c.state = 'open' AND c.lease_until >= ${NOW_MS} AND r.run_id = c.run_id
  RETURNING c.run_id, c.chunk_index, c.epoch, r.cancel_requested`;

/** Hands one lease back. `$1` run id, `$2` chunk index, `$3` node, `$4` epoch. */
export const RELEASE_LEASE = `
  UPDATE chunks SET holder = NULL, lease_until = 0, slots = 0
  WHERE run_id = $1 AND chunk_index = $2 AND holder = $3 AND epoch = $4 AND state = 'open'`;

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
