import type { CallbackTarget, FlowResult, Metadata, Overrides, RunDefaults, Status } from '../../protocol/index.js';
import type { ItemCountsRecord, ItemTimings, RunRecord, StepTiming, StoredItem, StoredItemDetail, StoredRunState } from './state-store.js';

/** A row of the `runs` table as both SQL backends return it (JSON columns as text, numbers as numbers). */
export interface RunRow {
  seq: number;
  run_id: string;
  flow_id: string;
  flow_name: string | null;
  flow_label: string | null;
  parent_run_id: string | null;
  parent_item_index: number | null;
  created_at: number;
  total: number;
  max_concurrency: number;
  variables: string;
  overrides: string | null;
  status: string;
  completed_at: number | null;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  cancel_requested: number | boolean;
  idempotency_key: string | null;
  /** JSON text in SQLite, parsed jsonb in PostgreSQL. */
  metadata: string | Metadata | null;
  record_steps: number | boolean;
  rerun_of: string | null;
  namespace: string;
  submitted_by: string | null;
  defaults: string | null;
}

/** A row of the `items` table without its input. */
export interface ItemRow {
  item_index: number;
  status: string;
  attempts: number;
  result: string | null;
  completed_at: number | null;
  completion_seq: number | null;
  source_index: number | null;
  started_at: number | null;
}

/** A row of `items` as `listItems` reads it. */
export interface ItemDetailRow extends ItemRow {
  input?: string;
  steps?: string | null;
}

/** One line of `SELECT run_id, status, count(*) AS n … GROUP BY run_id, status`. */
export interface StatusCountRow {
  run_id: string;
  status: string;
  n: number;
  /** The first start among these items. */
  started_at: number | null;
}

/** The columns of `runs` in SELECT order, shared by both backends so rows map the same way. */
export const RUN_COLUMNS =
  'seq, run_id, flow_id, flow_name, flow_label, parent_run_id, parent_item_index, created_at, total, max_concurrency, variables, overrides, status, completed_at, cancel_requested, idempotency_key, metadata, record_steps, rerun_of, defaults, namespace, submitted_by';

/** The columns of `items` that make a StoredItem. */
export const ITEM_COLUMNS = 'item_index, status, attempts, result, completed_at, completion_seq, started_at, source_index';

/** Item counts by run and status with each group's first start: how lists derive counters and `startedAt`. */
export const COUNT_COLUMNS = 'run_id, status, count(*) AS n, min(started_at) AS started_at';

/** JSON text of a value to store; `undefined` (which JSON cannot hold) is stored as null. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** The run record a row stores; optional fields absent when NULL. */
export function recordOfRow(row: RunRow): RunRecord {
  const record: RunRecord = {
    runId: row.run_id,
    flowId: row.flow_id,
    createdAt: Number(row.created_at),
    total: row.total,
    maxConcurrency: row.max_concurrency,
    variables: JSON.parse(row.variables) as Record<string, unknown>,
  };
  if (row.flow_name !== null) record.flowName = row.flow_name;
  if (row.flow_label !== null) record.flowLabel = row.flow_label;
  if (row.parent_run_id !== null) record.parentRunId = row.parent_run_id;
  if (row.parent_item_index !== null) record.parentItemIndex = row.parent_item_index;
  if (row.overrides !== null) record.overrides = JSON.parse(row.overrides) as Overrides;
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key;
  if (row.metadata !== null) record.metadata = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as Metadata) : row.metadata;
  if (row.record_steps) record.recordSteps = true;
  if (row.rerun_of !== null) record.rerunOf = row.rerun_of;
  // `default` is what an absent namespace means: records without one read back as written.
  if (row.namespace !== 'default') record.namespace = row.namespace;
  if (row.submitted_by !== null) record.submittedBy = row.submitted_by;
  if (row.defaults !== null) record.defaults = JSON.parse(row.defaults) as RunDefaults;
  return record;
}

/** The stored state of a run row. */
export function stateOfRow(row: RunRow): StoredRunState {
  const state: StoredRunState = { status: row.status as Status, cancelRequested: Boolean(row.cancel_requested) };
  if (row.completed_at !== null) state.completedAt = Number(row.completed_at);
  return state;
}

/** The stored item of a row; result and completion fields absent when NULL. */
export function itemOfRow(row: ItemRow): StoredItem {
  const item: StoredItem = { itemIndex: row.item_index, status: row.status as Status, attempts: row.attempts };
  if (row.result !== null) item.result = JSON.parse(row.result) as FlowResult;
  if (row.completed_at !== null) item.completedAt = Number(row.completed_at);
  if (row.completion_seq !== null) item.completionSeq = row.completion_seq;
  if (row.source_index !== null) item.sourceIndex = row.source_index;
  if (row.started_at !== null) item.startedAt = Number(row.started_at);
  return item;
}

/**
 * The whole record of a loaded run: a rerun's source indices come from its items, a callback
 * target from the outbox (neither is a column of `runs`).
 */
export function loadedRecord(record: RunRecord, items: readonly StoredItem[], callback: CallbackTarget | undefined): RunRecord {
  if (items.length > 0 && items[0].sourceIndex !== undefined) record.sourceIndices = items.map((item) => item.sourceIndex ?? 0);
  if (callback !== undefined) record.callback = callback;
  return record;
}

/** The item of a `listItems` row, with its input and steps when they were selected. */
export function itemDetailOfRow(row: ItemDetailRow): StoredItemDetail {
  const item: StoredItemDetail = itemOfRow(row);
  if (row.input !== undefined) item.input = JSON.parse(row.input) as unknown;
  if (row.steps !== undefined && row.steps !== null) item.steps = JSON.parse(row.steps) as StepTiming[];
  return item;
}

/** The SELECT of `listItems` (placeholders `$run`, `$statuses`, `$limit`, `$offset` replaced by the backend). */
export function listItemsSql(columns: string, order: 'byIndex' | 'byCompletion', where: string): string {
  const settled = order === 'byCompletion' ? ' AND completion_seq IS NOT NULL' : '';
  const orderBy = order === 'byCompletion' ? 'completion_seq' : 'item_index';
  return `SELECT ${columns} FROM items WHERE ${where}${settled} ORDER BY ${orderBy}`;
}

/** Columns selected by `listItems`. */
export function itemDetailColumns(includeInput: boolean, includeSteps: boolean): string {
  return ITEM_COLUMNS + (includeInput ? ', input' : '') + (includeSteps ? ', steps' : '');
}

/** First start per run from count rows (NaN-free: absent when no item of the run started). */
export function firstStartsByRun(rows: readonly StatusCountRow[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const row of rows) {
    if (row.started_at === null) continue;
    const at = Number(row.started_at);
    const known = starts.get(row.run_id);
    if (known === undefined || at < known) starts.set(row.run_id, at);
  }
  return starts;
}

/** Counters per run from GROUP BY rows: the one place item counts are derived for SQL backends. */
export function countsByRun(runIds: readonly string[], rows: readonly StatusCountRow[]): Map<string, ItemCountsRecord> {
  const counts = new Map<string, ItemCountsRecord>();
  for (const runId of runIds) counts.set(runId, { total: 0, pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 });
  for (const row of rows) {
    const c = counts.get(row.run_id);
    if (!c) continue;
    const n = Number(row.n);
    c[row.status as Status] += n;
    c.total += n;
  }
  return counts;
}

/** A row of `SELECT item_index, started_at, completed_at, steps FROM items`. */
export interface TimingRow {
  item_index: number;
  started_at: number | null;
  completed_at: number | null;
  /** JSON text (the column is `json` in PostgreSQL, read as text). */
  steps: string | null;
}

/** The timings of a run's items from rows of `item_index, started_at, completed_at, steps`. */
export function timingsOfRows(run: { total: number; created_at: number }, rows: readonly TimingRow[]): ItemTimings {
  const total = run.total;
  const startedAt = new Float64Array(total).fill(NaN);
  const completedAt = new Float64Array(total).fill(NaN);
  const steps: StepTiming[] = [];
  for (const row of rows) {
    if (row.started_at !== null) startedAt[row.item_index] = Number(row.started_at);
    if (row.completed_at !== null) completedAt[row.item_index] = Number(row.completed_at);
    if (row.steps !== null) for (const step of JSON.parse(row.steps) as StepTiming[]) steps.push(step);
  }
  return { createdAt: Number(run.created_at), startedAt, completedAt, steps };
}
