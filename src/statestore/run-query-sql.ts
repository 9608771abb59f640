import type { Metadata } from '../../protocol/index.js';
import type { RunQuery } from './state-store.js';

/** How a backend writes bound parameters; collects their values in order. */
export interface SqlParams {
  readonly values: unknown[];
  /** Binds a value, returning its placeholder. */
  add(value: unknown): string;
  /** A condition that `column` equals one of `values`. */
  oneOf(column: string, values: readonly string[]): string;
  /** A condition that the run's `metadata` holds every key of `wanted` with its value (and type). */
  metadataContains(wanted: Metadata): string;
}

/**
 * The WHERE condition selecting candidate runs of a query, past `afterSeq` (the cursor) in the
 * query's order when given. Statuses are narrowed as far as SQL can: a finished run's status is
 * stored; an unfinished run's status depends on its item counts (even a terminal one, when every
 * item settled but the finish record is missing), so unfinished runs always pass and are filtered
 * after counting.
 */
export function runQueryCondition(query: RunQuery, afterSeq: number | undefined, params: SqlParams): string {
  const conditions: string[] = [];
  if (afterSeq !== undefined) conditions.push(`seq ${query.order === 'oldest' ? '>' : '<'} ${params.add(afterSeq)}`);
  if (query.namespace !== undefined) conditions.push(`namespace = ${params.add(query.namespace)}`);
  if (query.flowId !== undefined) conditions.push(`flow_id = ${params.add(query.flowId)}`);
  if (query.flowName !== undefined) conditions.push(`flow_name = ${params.add(query.flowName)}`);
  if (query.flowLabel !== undefined) conditions.push(`flow_label = ${params.add(query.flowLabel)}`);
  if (query.parentRunId !== undefined) conditions.push(`parent_run_id = ${params.add(query.parentRunId)}`);
  if (query.rootsOnly) conditions.push('parent_run_id IS NULL');
  if (query.rerunOf !== undefined) conditions.push(`rerun_of = ${params.add(query.rerunOf)}`);
  if (query.metadata !== undefined && Object.keys(query.metadata).length > 0) conditions.push(params.metadataContains(query.metadata));
  if (query.createdAfter !== undefined) conditions.push(`created_at > ${params.add(query.createdAfter)}`);
  if (query.createdBefore !== undefined) conditions.push(`created_at < ${params.add(query.createdBefore)}`);
  if (query.statuses !== undefined) {
    conditions.push(`((completed_at IS NOT NULL AND ${params.oneOf('status', query.statuses)}) OR completed_at IS NULL)`);
  }
  return conditions.length === 0 ? '1 = 1' : conditions.join(' AND ');
}

/** The ORDER BY of candidate runs. */
export function runQueryOrder(query: RunQuery): string {
  return query.order === 'oldest' ? 'seq ASC' : 'seq DESC';
}
