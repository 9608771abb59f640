import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CallbackTarget, Status } from '../../protocol/index.js';
import { CALLBACK_COLUMNS, callbackStateOfRow, callbackTargetOfRow, deliveryOfRow } from './callback-outbox.js';
import type { CallbackAttempt, CallbackClaim, CallbackDelivery, CallbackRow, StoredCallbackState } from './callback-outbox.js';
import { ITEMS_PER_SLICE, yieldToEventLoop } from '../event-loop.js';
import { supersededTransitions } from './collapse-item-updates.js';
import { flowListSql, flowPageOf, type FlowPage, type FlowQuery, type FlowUseRow } from './flow-listing.js';
import { listRunsFrom } from './list-runs.js';
import { runQueryCondition, runQueryOrder, type SqlParams } from './run-query-sql.js';
import {
  COUNT_COLUMNS, ITEM_COLUMNS, RUN_COLUMNS, itemDetailColumns, itemDetailOfRow, itemOfRow, jsonText, listItemsSql, loadedRecord, recordOfRow, stateOfRow, timingsOfRows,
} from './sql-rows.js';
import type { ItemDetailRow, ItemRow, RunRow, StatusCountRow, TimingRow } from './sql-rows.js';
import { migrateSqlite } from './sqlite-schema.js';
import { COUNT_RUNS_BY_STATUS_SQL, runStatusCountsOf, type RunStatusCounts } from './run-status-counts.js';
import { lockStateFile, type ProcessLock } from './sqlite-process-lock.js';
import { ITEM_STATUS_BY_CODE } from './item-status.js';
import { RUNNING_CODE, type ItemTransitions } from './item-transitions.js';
import type { DeleteRunOutcome, ItemPage, ItemQuery, ItemTimings, LoadedRun, RunQuery, RunRecord, RunSummary, StateStore } from './state-store.js';
import { FLOW_USES_SQL, RUN_ROW_TABLES, deletionOf, expiredRunsSql, runTreeSql, type RunTreeRow } from './run-deletion-sql.js';
import type { RunEventLog } from './run-event-log.js';
import { SqliteRunEventLog } from './sqlite-event-log.js';

/**
 * Rows per multi-row INSERT of a run's inputs: one statement of many rows costs less than as many
 * statements of one (≈4 µs instead of ≈6.6 µs an input here; bench/HISTORY.md).
 */
const ROWS_PER_INSERT = 64;

/** How long a statement waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Keeps runs in one SQLite file (WAL, synchronous=NORMAL): the default of `flowrun serve`.
 * better-sqlite3 is synchronous, so every write takes effect when the method is called, in call order.
 */
export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepareStatements>;
  readonly events: RunEventLog;

  private constructor(
    db: Database.Database,
    private readonly lock: ProcessLock | undefined,
  ) {
    this.db = db;
    this.statements = prepareStatements(db);
    this.events = new SqliteRunEventLog(db);
  }

  /**
   * Opens (creating it and its directory if needed) the database at `path`, or a private one for
   * `:memory:`. Throws `StateStoreInUseError` when another process has the file open
   * (./sqlite-process-lock.ts); stores of this process may share it.
   */
  static open(path: string): SqliteStateStore {
    const onDisk = path !== ':memory:' && !path.startsWith('file:');
    if (onDisk) createPrivately(path);
    const lock = onDisk ? lockStateFile(path) : undefined;
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      lock?.release();
      throw err;
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
      db.pragma('synchronous = NORMAL');
      migrateSqlite(db);
      return new SqliteStateStore(db, lock);
    } catch (err) {
      db.close();
      lock?.release();
      throw err;
    }
  }

  /**
   * Inputs go in transactions of `ITEMS_PER_SLICE` rows with a turn of the event loop between
   * them (a million rows would block it for seconds), and the run's row last: a run is seen (and
   * resumed after a crash) only once every input is stored. A failure removes what was written.
   */
  async createRun(run: RunRecord, inputs: readonly unknown[]): Promise<string | undefined> {
    const { insertRun, insertItem, insertItems, deleteItems, selectKeyHolder } = this.statements;
    const key = run.idempotencyKey;
    if (key !== undefined) {
      const holder = selectKeyHolder.get(key) as string | undefined;
      if (holder !== undefined) return holder;
    }
    const params = new Array<unknown>(3 * ROWS_PER_INSERT);
    const { setSourceIndex } = this.statements;
    const sources = run.sourceIndices;
    const insertSlice = this.db.transaction((start: number, end: number) => {
      let i = start;
      for (; i + ROWS_PER_INSERT <= end; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) {
          params[3 * j] = run.runId;
          params[3 * j + 1] = i + j;
          params[3 * j + 2] = jsonText(inputs[i + j]);
        }
        insertItems.run(params);
      }
      for (; i < end; i++) insertItem.run(run.runId, i, jsonText(inputs[i]));
      // Only reruns have source indices: the usual insert stays as it is.
      if (sources) for (let k = start; k < end; k++) setSourceIndex.run(sources[k], run.runId, k);
    });
    const insertRunRow = this.db.transaction(() => {
      insertRun.run(runRow(run));
      if (run.callback) this.statements.insertCallback.run(callbackRow(run.runId, run.callback));
    });
    try {
      for (let start = 0; start < inputs.length; start += ITEMS_PER_SLICE) {
        if (start > 0) await yieldToEventLoop();
        insertSlice(start, Math.min(inputs.length, start + ITEMS_PER_SLICE));
      }
      insertRunRow();
      return undefined;
    } catch (err) {
      if (this.db.open) deleteItems.run(run.runId);
      // Another submit of this process took the key while these inputs were stored: the index decided.
      const holder = key !== undefined && isUniqueViolation(err) ? (selectKeyHolder.get(key) as string | undefined) : undefined;
      if (holder !== undefined) return holder;
      throw err;
    }
  }

  async runWithIdempotencyKey(key: string, createdAfter: number): Promise<string | undefined> {
    this.statements.releaseKey.run(key, createdAfter);
    return this.statements.selectKeyHolder.get(key) as string | undefined;
  }

  async listItems(runId: string, query: ItemQuery): Promise<ItemPage | undefined> {
    return this.db.transaction(() => {
      if (this.statements.selectRun.get(runId) === undefined) return undefined;
      const params: unknown[] = [runId];
      let where = 'run_id = ?';
      if (query.statuses !== undefined) {
        where += ' AND status IN (SELECT value FROM json_each(?))';
        params.push(JSON.stringify(query.statuses));
      }
      const sql = `${listItemsSql(itemDetailColumns(query.includeInput, query.includeSteps), query.order, where)} LIMIT ? OFFSET ?`;
      const rows = this.db.prepare(sql).all(...params, query.limit + 1, query.offset) as ItemDetailRow[];
      const items = rows.slice(0, query.limit).map(itemDetailOfRow);
      return rows.length > query.limit ? { items, nextOffset: query.offset + query.limit } : { items };
    })();
  }

  async itemTimings(runId: string): Promise<ItemTimings | undefined> {
    return this.db.transaction(() => {
      const row = this.statements.selectRun.get(runId) as RunRow | undefined;
      if (!row) return undefined;
      const rows = this.statements.selectTimings.all(runId) as TimingRow[];
      return timingsOfRows(row, rows);
    })();
  }

  /** One transaction; a transition a later one of its item overwrites is not written (an UPDATE with its index entries less). */
  async recordItems(transitions: ItemTransitions): Promise<void> {
    const { startItem, finishItem } = this.statements;
    const { runIds, indices, statuses, attempts, results, completedAt, completionSeqs, startedAt, steps } = transitions;
    const superseded = supersededTransitions(transitions);
    this.db.transaction(() => {
      for (let k = 0; k < transitions.length; k++) {
        if (superseded[k] === 1) continue;
        const started = Number.isNaN(startedAt[k]) ? null : startedAt[k];
        if (statuses[k] === RUNNING_CODE) startItem.run(attempts[k], started, runIds[k], indices[k]);
        else {
          const result = results[k] === undefined ? null : jsonText(results[k]);
          const stepsText = steps[k] === undefined ? null : jsonText(steps[k]);
          finishItem.run(ITEM_STATUS_BY_CODE[statuses[k]], attempts[k], result, completedAt[k], completionSeqs[k], started, stepsText, runIds[k], indices[k]);
        }
      }
    })();
  }

  async markCancelled(runId: string): Promise<void> {
    this.statements.markCancelled.run(runId);
  }

  async finishRun(runId: string, status: Status, completedAt: number): Promise<void> {
    const { finishRun, callbackDue } = this.statements;
    this.db.transaction(() => {
      finishRun.run(status, completedAt, runId);
      callbackDue.run(completedAt, completedAt, runId);
    })();
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    // One read transaction, so the run and its items are one snapshot.
    return this.db.transaction(() => {
      const row = this.statements.selectRun.get(runId) as RunRow | undefined;
      if (!row) return undefined;
      const items = (this.statements.selectItems.all(runId) as ItemRow[]).map(itemOfRow);
      const callback = this.statements.selectCallback.get(runId) as CallbackRow | undefined;
      const record = loadedRecord(recordOfRow(row), items, callback && callbackTargetOfRow(callback));
      return { record, state: stateOfRow(row), items };
    })();
  }

  async loadInputs(runId: string, indices?: readonly number[]): Promise<unknown[]> {
    if (indices === undefined) return (this.statements.selectInputs.all(runId) as string[]).map((text) => JSON.parse(text) as unknown);
    const rows = this.statements.selectSomeInputs.all(runId, JSON.stringify(indices)) as { item_index: number; input: string }[];
    const byIndex = new Map(rows.map((row) => [row.item_index, row.input]));
    return indices.filter((i) => byIndex.has(i)).map((i) => JSON.parse(byIndex.get(i)!) as unknown);
  }

  async callbackStates(runIds: readonly string[]): Promise<Map<string, StoredCallbackState>> {
    const rows = runIds.length === 0 ? [] : (this.statements.selectCallbacks.all(JSON.stringify(runIds)) as CallbackRow[]);
    return new Map(rows.map((row) => [row.run_id, callbackStateOfRow(row)]));
  }

  async claimCallbacks(claim: CallbackClaim): Promise<CallbackDelivery[]> {
    const rows = this.statements.claimCallbacks.all(claim.holder, claim.now + claim.leaseMs, claim.now, claim.now, claim.limit) as CallbackRow[];
    return rows.map(deliveryOfRow);
  }

  async recordCallbackAttempt(runId: string, attempt: CallbackAttempt): Promise<void> {
    this.statements.recordCallbackAttempt.run(callbackAttemptRow(runId, attempt));
  }

  async unfinishedRuns(): Promise<string[]> {
    return this.statements.selectUnfinished.all() as string[];
  }

  async listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    return listRunsFrom(
      {
        candidates: async (q, beforeSeq, limit) => {
          const params = sqliteParams();
          const where = runQueryCondition(q, beforeSeq, params);
          const sql = `SELECT ${RUN_COLUMNS} FROM runs WHERE ${where} ORDER BY ${runQueryOrder(q)} LIMIT ${params.add(limit)}`;
          return this.db.prepare(sql).all(...params.values) as RunRow[];
        },
        statusCounts: async (runIds) => this.statusCounts(runIds),
      },
      query,
    );
  }

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const params = sqliteParams();
    const sql = flowListSql(query, params);
    if (sql === undefined) return { flows: [] };
    return flowPageOf(this.db.prepare(sql).all(...params.values) as FlowUseRow[], query.limit);
  }

  /** Item counts by run and status: the only query deriving counters. */
  private statusCounts(runIds: readonly string[]): StatusCountRow[] {
    if (runIds.length === 0) return [];
    return this.statements.countItems.all(JSON.stringify(runIds)) as StatusCountRow[];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.lock?.release();
  }

  async countRunsByStatus(): Promise<RunStatusCounts> {
    return runStatusCountsOf(this.statements.countRunsByStatus.all() as { status: string; n: number }[]);
  }

  async addBlobNamespace(blobId: string, namespace: string): Promise<void> {
    this.statements.addBlobNamespace.run(blobId, namespace);
  }

  async blobInNamespace(blobId: string, namespace: string): Promise<boolean> {
    return this.statements.blobInNamespace.get(blobId, namespace) !== undefined;
  }

  async deleteBlobNamespaces(blobIds: readonly string[]): Promise<void> {
    const { deleteBlobNamespaces } = this.statements;
    this.db.transaction(() => {
      for (const blobId of blobIds) deleteBlobNamespaces.run(blobId);
    })();
  }

  /** One immediate transaction: the run cannot turn unfinished or gain a child while it is deleted. */
  async deleteRun(runId: string, options: { dryRun?: boolean } = {}): Promise<DeleteRunOutcome> {
    const { selectRunTree, deleteRunRows } = this.statements;
    return this.db.transaction(() => {
      const outcome = deletionOf(selectRunTree.all(runId) as RunTreeRow[]);
      if (outcome.outcome === 'deleted' && !options.dryRun) {
        const ids = JSON.stringify(outcome.runIds);
        for (const statement of deleteRunRows) statement.run(ids);
      }
      return outcome;
    }).immediate();
  }

  async hasRun(runId: string): Promise<boolean> {
    return this.statements.selectRunExists.get(runId) !== undefined;
  }

  async expiredRuns(completedBefore: number, limit: number): Promise<string[]> {
    return this.statements.selectExpiredRuns.all(completedBefore, limit) as string[];
  }

  async flowUses(): Promise<Map<string, number>> {
    const rows = this.statements.selectFlowUses.all() as { flow_id: string; n: number }[];
    return new Map(rows.map((row) => [row.flow_id, row.n]));
  }
}

/** The named parameters of `insertCallback`. */
function callbackRow(runId: string, target: CallbackTarget) {
  return {
    run_id: runId,
    url: target.url,
    secret: target.secret ?? null,
    headers: target.headers === undefined ? null : jsonText(target.headers),
    delivery_id: randomUUID(),
  };
}

/** The named parameters of `recordCallbackAttempt`. */
function callbackAttemptRow(runId: string, attempt: CallbackAttempt) {
  return {
    run_id: runId,
    at: attempt.at,
    status_code: attempt.statusCode ?? null,
    error: attempt.error ?? null,
    delivered_at: attempt.delivered ? attempt.at : null,
    next_attempt_at: attempt.delivered ? null : (attempt.nextAttemptAt ?? null),
  };
}

/** The named parameters of `insertRun`. */
function runRow(run: RunRecord) {
  return {
    run_id: run.runId,
    flow_id: run.flowId,
    flow_name: run.flowName ?? null,
    flow_label: run.flowLabel ?? null,
    parent_run_id: run.parentRunId ?? null,
    parent_item_index: run.parentItemIndex ?? null,
    created_at: run.createdAt,
    total: run.total,
    max_concurrency: run.maxConcurrency,
    variables: jsonText(run.variables),
    overrides: run.overrides === undefined ? null : jsonText(run.overrides),
    idempotency_key: run.idempotencyKey ?? null,
    metadata: run.metadata === undefined ? null : jsonText(run.metadata),
    record_steps: run.recordSteps ? 1 : 0,
    rerun_of: run.rerunOf ?? null,
    namespace: run.namespace ?? 'default',
    submitted_by: run.submittedBy ?? null,
    defaults: run.defaults === undefined ? null : jsonText(run.defaults),
  };
}

/** Whether SQLite refused a write for a UNIQUE index. */
function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function prepareStatements(db: Database.Database) {
  return {
    insertRun: db.prepare(
      `INSERT INTO runs (run_id, flow_id, flow_name, flow_label, parent_run_id, parent_item_index, created_at, total, max_concurrency, variables, overrides,
         idempotency_key, metadata, record_steps, rerun_of, defaults, namespace, submitted_by, status)
       VALUES (@run_id, @flow_id, @flow_name, @flow_label, @parent_run_id, @parent_item_index, @created_at, @total, @max_concurrency, @variables, @overrides,
         @idempotency_key, @metadata, @record_steps, @rerun_of, @defaults, @namespace, @submitted_by, 'running')`,
    ),
    setSourceIndex: db.prepare(`UPDATE items SET source_index = ? WHERE run_id = ? AND item_index = ?`),
    selectSomeInputs: db.prepare(`SELECT item_index, input FROM items WHERE run_id = ? AND item_index IN (SELECT value FROM json_each(?))`),
    ...prepareCallbackStatements(db),
    selectRunTree: db.prepare(runTreeSql('?')),
    selectRunExists: db.prepare('SELECT 1 FROM runs WHERE run_id = ?'),
    // The run rows last: a run is never seen without its items.
    deleteRunRows: [...RUN_ROW_TABLES, 'runs'].map((table) => db.prepare(`DELETE FROM ${table} WHERE run_id IN (SELECT value FROM json_each(?))`)),
    selectExpiredRuns: db.prepare(expiredRunsSql('?', '?')).pluck(),
    selectFlowUses: db.prepare(FLOW_USES_SQL),
    deleteItems: db.prepare(`DELETE FROM items WHERE run_id = ?`),
    insertItem: db.prepare(`INSERT INTO items (run_id, item_index, status, attempts, input) VALUES (?, ?, 'pending', 0, ?)`),
    insertItems: db.prepare(
      `INSERT INTO items (run_id, item_index, status, attempts, input) VALUES ${new Array(ROWS_PER_INSERT).fill("(?, ?, 'pending', 0, ?)").join(', ')}`,
    ),
    startItem: db.prepare(`UPDATE items SET status = 'running', attempts = ?, started_at = ? WHERE run_id = ? AND item_index = ?`),
    finishItem: db.prepare(
      `UPDATE items SET status = ?, attempts = ?, result = ?, completed_at = ?, completion_seq = ?, started_at = ?, steps = ? WHERE run_id = ? AND item_index = ?`,
    ),
    selectKeyHolder: db.prepare(`SELECT run_id FROM runs WHERE idempotency_key = ?`).pluck(),
    releaseKey: db.prepare(`UPDATE runs SET idempotency_key = NULL WHERE idempotency_key = ? AND created_at <= ?`),
    selectTimings: db.prepare(
      `SELECT item_index, started_at, completed_at, steps FROM items WHERE run_id = ? AND (started_at IS NOT NULL OR completed_at IS NOT NULL)`,
    ),
    markCancelled: db.prepare(`UPDATE runs SET cancel_requested = 1 WHERE run_id = ?`),
    finishRun: db.prepare(`UPDATE runs SET status = ?, completed_at = ? WHERE run_id = ?`),
    selectRun: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`),
    selectItems: db.prepare(`SELECT ${ITEM_COLUMNS} FROM items WHERE run_id = ? ORDER BY item_index`),
    selectInputs: db.prepare(`SELECT input FROM items WHERE run_id = ? ORDER BY item_index`).pluck(),
    selectUnfinished: db.prepare(`SELECT run_id FROM runs WHERE completed_at IS NULL ORDER BY seq`).pluck(),
    countRunsByStatus: db.prepare(COUNT_RUNS_BY_STATUS_SQL),
    addBlobNamespace: db.prepare('INSERT OR IGNORE INTO blob_namespaces (blob_id, namespace) VALUES (?, ?)'),
    blobInNamespace: db.prepare('SELECT 1 FROM blob_namespaces WHERE blob_id = ? AND namespace = ?'),
    deleteBlobNamespaces: db.prepare('DELETE FROM blob_namespaces WHERE blob_id = ?'),
    countItems: db.prepare(
      `SELECT ${COUNT_COLUMNS} FROM items
       WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id, status`,
    ),
  };
}

/** The statements on the outbox of completion callbacks (docs/callbacks.md). */
function prepareCallbackStatements(db: Database.Database) {
  return {
    insertCallback: db.prepare(`INSERT INTO callbacks (run_id, url, secret, headers, delivery_id) VALUES (@run_id, @url, @secret, @headers, @delivery_id)`),
    callbackDue: db.prepare(`UPDATE callbacks SET due_since = ?, next_attempt_at = ? WHERE run_id = ? AND due_since IS NULL`),
    selectCallback: db.prepare(`SELECT ${CALLBACK_COLUMNS} FROM callbacks WHERE run_id = ?`),
    selectCallbacks: db.prepare(`SELECT ${CALLBACK_COLUMNS} FROM callbacks WHERE run_id IN (SELECT value FROM json_each(?))`),
    claimCallbacks: db.prepare(
      `UPDATE callbacks SET holder = ?, lease_until = ?
       WHERE run_id IN (SELECT run_id FROM callbacks WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND lease_until <= ?
                        ORDER BY next_attempt_at LIMIT ?)
       RETURNING ${CALLBACK_COLUMNS}`,
    ),
    recordCallbackAttempt: db.prepare(
      `UPDATE callbacks SET attempts = attempts + 1, last_attempt_at = @at, status_code = @status_code, error = @error,
         delivered_at = @delivered_at, next_attempt_at = @next_attempt_at, holder = NULL, lease_until = 0
       WHERE run_id = @run_id AND delivered_at IS NULL`,
    ),
  };
}

/** Positional `?` parameters; lists are bound as one JSON array. */
function sqliteParams(): SqlParams {
  const values: unknown[] = [];
  return {
    values,
    add(value) {
      values.push(value);
      return '?';
    },
    oneOf(column, list) {
      values.push(JSON.stringify(list));
      return `${column} IN (SELECT value FROM json_each(?))`;
    },
    // One EXISTS per key: json_each names each value's type, so 1, true and "1" stay apart.
    metadataContains(wanted) {
      return Object.entries(wanted)
        .map(([key, value]) => {
          values.push(key);
          if (typeof value === 'boolean') return `EXISTS (SELECT 1 FROM json_each(metadata) WHERE key = ? AND type = '${value}')`;
          values.push(value);
          const types = typeof value === 'number' ? `('integer', 'real')` : `('text')`;
          return `EXISTS (SELECT 1 FROM json_each(metadata) WHERE key = ? AND type IN ${types} AND atom = ?)`;
        })
        .join(' AND ');
    },
  };
}

/**
 * Creates the database file (and its directory) readable by its owner only, before SQLite opens
 * it: SQLite gives the `-wal` and `-shm` files the database file's mode. Files an earlier version
 * left readable are made private too (docs/serve.md).
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    const stat = statSync(file, { throwIfNoEntry: false });
    // Only our own files: a database shared through group permissions is the owner's choice.
    if (stat !== undefined && stat.uid === process.getuid?.() && (stat.mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}
