import type { SqlParams } from './run-query-sql.js';
import { decodeSeqCursor, encodeSeqCursor } from './seq-cursor.js';

/** Which flows `listFlows` returns: those the runs of a namespace ran, most recently used first. */
export interface FlowQuery {
  /** Only runs of this namespace; undefined: every namespace. */
  namespace?: string;
  /** Opaque, from a previous `nextCursor`. */
  cursor?: string;
  limit: number;
}

/** A flow some stored runs ran (`flows/list`). */
export interface StoredFlowUse {
  flowId: string;
  /** The flow name of its most recent run, when that run had one. */
  flowName?: string;
  /** When its most recent run was created (ms since the epoch). */
  lastUsedAt: number;
  /** How many stored runs ran it. */
  runs: number;
}

export interface FlowPage {
  flows: StoredFlowUse[];
  nextCursor?: string;
}

/** One flow as both SQL backends and the memory store read it: `last_seq` is the seq of its most recent run. */
export interface FlowUseRow {
  flow_id: string;
  flow_name: string | null;
  created_at: number | string;
  runs: number | string;
  last_seq: number | string;
}

/**
 * The flows of a query with one more than a page (so a full page knows whether more follow), each
 * with its most recent run's name and time: flows are grouped by id, ordered by their latest run's
 * seq, and a cursor is that seq of the previous page's last flow. Undefined when the cursor is not one of ours.
 */
export function flowListSql(query: FlowQuery, params: SqlParams): string | undefined {
  const beforeSeq = query.cursor === undefined ? undefined : decodeSeqCursor(query.cursor);
  if (beforeSeq === null) return undefined;
  const where = query.namespace === undefined ? '' : `WHERE namespace = ${params.add(query.namespace)}`;
  const past = beforeSeq === undefined ? '' : `WHERE u.last_seq < ${params.add(beforeSeq)}`;
  return (
    'SELECT r.flow_id, r.flow_name, r.created_at, u.runs, u.last_seq FROM ' +
    `(SELECT flow_id, CAST(count(*) AS INTEGER) AS runs, max(seq) AS last_seq FROM runs ${where} GROUP BY flow_id) u ` +
    `JOIN runs r ON r.seq = u.last_seq ${past} ORDER BY u.last_seq DESC LIMIT ${params.add(query.limit + 1)}`
  );
}

/** A page of at most `limit` flows from up to `limit + 1` rows in order, with a cursor when more follow. */
export function flowPageOf(rows: readonly FlowUseRow[], limit: number): FlowPage {
  const flows = rows.slice(0, limit).map((row): StoredFlowUse => {
    const flow: StoredFlowUse = { flowId: row.flow_id, lastUsedAt: Number(row.created_at), runs: Number(row.runs) };
    if (row.flow_name !== null) flow.flowName = row.flow_name;
    return flow;
  });
  if (rows.length <= limit || limit <= 0) return { flows };
  return { flows, nextCursor: encodeSeqCursor(Number(rows[limit - 1].last_seq)) };
}

