import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Status } from '../../protocol/index.js';
import { ITEMS_PER_SLICE } from '../event-loop.js';
import { silentLogger, type Logger } from '../log.js';
import { collapseItemUpdates, supersededTransitions } from './collapse-item-updates.js';
import { ITEM_STATUS_BY_CODE } from './item-status.js';
import { flowListSql, flowPageOf, type FlowPage, type FlowQuery, type FlowUseRow } from './flow-listing.js';
import { listRunsFrom } from './list-runs.js';
import { migratePostgres } from './postgres-schema.js';
import { runQueryCondition, runQueryOrder, type SqlParams } from './run-query-sql.js';
import {
  COUNT_COLUMNS, ITEM_COLUMNS, RUN_COLUMNS, itemDetailColumns, itemDetailOfRow, itemOfRow, jsonText, listItemsSql, loadedRecord, recordOfRow, stateOfRow, timingsOfRows,
} from './sql-rows.js';
import { CALLBACK_COLUMNS, callbackStateOfRow, callbackTargetOfRow, deliveryOfRow } from './callback-outbox.js';
import type { CallbackAttempt, CallbackClaim, CallbackDelivery, CallbackRow, StoredCallbackState } from './callback-outbox.js';
import type { ItemDetailRow, ItemRow, RunRow, StatusCountRow, TimingRow } from './sql-rows.js';
import { COUNT_RUNS_BY_STATUS_SQL, runStatusCountsOf, type RunStatusCounts } from './run-status-counts.js';
import { RUNNING_CODE, type ItemTransitions } from './item-transitions.js';
import type { DeleteRunOutcome, ExclusiveLock, ItemPage, ItemQuery, ItemTimings, ItemUpdate, LoadedRun, RunQuery, RunRecord, RunSummary, StateStore } from './state-store.js';
import { FLOW_USES_SQL, RUN_ROW_TABLES, deletionOf, expiredRunsSql, runTreeSql, type RunTreeRow } from './run-deletion-sql.js';
import { isStoreClosed, isStoreUnavailable } from './store-unavailable.js';
import type { RunEventLog } from './run-event-log.js';
import { PostgresRunEventLog } from './postgres-event-log.js';
import type { PreparedStatement } from './prepared-statement.js';

export interface PostgresStateStoreOptions {
  /** `postgres://user:password@host:port/database`; `?options=-c search_path=…` selects a schema. */
  url: string;
  /** Pool size; default 8 (writes are serialized; a cluster node also claims, renews and waits). */
  maxConnections?: number;
  /** Receives errors of idle connections; default silent. */
  logger?: Logger;
  /**
   * The server ends a session left idle inside a transaction this long (ms): a process paused
   * mid-transaction (SIGSTOP, a long stall) must not hold row locks the others wait on. Default
   * 5000; a cluster node uses at most half its lease.
   */
  idleInTransactionTimeoutMs?: number;
}

/** Rows per multi-row statement: big enough to amortize round trips, small enough to keep one statement cheap. */
const ROWS_PER_STATEMENT = 2_000;
/** JSON text per statement, so a chunk of huge inputs stays a reasonable parameter. */
const BYTES_PER_STATEMENT = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
/** Times a read is tried again after finding the database unreachable (see `retryingRead`). */
const READ_RETRIES = 2;

const INT8_OID = 20;
const JSON_OID = 114;

/** bigint as number (ms timestamps, seq and counts fit), json as text (parsed once, as in SQLite). */
const typeParsers = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === JSON_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/**
 * Keeps runs in PostgreSQL, for runtimes that share a database server. Writes go out one after
 * another in call order (a pool would otherwise let a later batch commit first); a read waits for
 * the writes called before it.
 */
export class PostgresStateStore implements StateStore {
  private writes: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    /** The database's URL, for a connection of its own (a cluster node's LISTEN). */
    readonly url: string,
  ) {
    this.events = new PostgresRunEventLog(pool);
  }

  readonly events: RunEventLog;

  /** Connects and creates or upgrades the schema. */
  static async connect(options: PostgresStateStoreOptions): Promise<PostgresStateStore> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 8,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 5_000,
      // Names the process in pg_stat_activity (a cluster node's pid is in `flowrun nodes`), unless the URL names it.
      application_name: /[?&]application_name=/.test(options.url) ? undefined : `flowrun pid ${process.pid}`,
      types: typeParsers,
    });
    const logger = options.logger ?? silentLogger;
    // An idle connection that dies (server restart) must not crash the process; the pool replaces it.
    pool.on('error', (err) => logger.warn({ err }, 'postgres state store: an idle connection was lost'));
    // A lost connection may emit 'error' more than once, also after it was checked out and released
    // (pg-pool's own query listens only once): every connection keeps a listener, so no such event
    // is ever unheard. Queries fail on their own; this only keeps the process alive.
    pool.on('connect', (client) => client.on('error', () => {}));
    try {
      const client = await pool.connect();
      // A connection lost while migrating fails the query; its 'error' event must not crash the process.
      let broken: Error | undefined;
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await migratePostgres(client);
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`cannot open postgres state store: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresStateStore(pool, logger, options.url);
  }

  createRun(run: RunRecord, inputs: readonly unknown[]): Promise<string | undefined> {
    return this.write((client) => insertRun(client, run, inputs));
  }

  async runWithIdempotencyKey(key: string, createdAfter: number): Promise<string | undefined> {
    await this.writes;
    // One statement: the release and the read see the same snapshot, hence the read's own age test.
    const { rows } = await this.pool.query<{ run_id: string }>(
      `WITH released AS (UPDATE runs SET idempotency_key = NULL WHERE idempotency_key = $1 AND created_at <= $2 RETURNING 1)
       SELECT run_id FROM runs WHERE idempotency_key = $1 AND created_at > $2`,
      [key, createdAfter],
    );
    return rows[0]?.run_id;
  }

  async listItems(runId: string, query: ItemQuery): Promise<ItemPage | undefined> {
    await this.writes;
    return this.retryingRead(() => this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM runs WHERE run_id = $1', [runId]);
      if (rowCount === 0) return undefined;
      const params: unknown[] = [runId];
      let where = 'run_id = $1';
      if (query.statuses !== undefined) where += ` AND status = ANY($${params.push(query.statuses)}::text[])`;
      const columns = itemDetailColumns(query.includeInput, query.includeSteps);
      const sql = `${listItemsSql(columns, query.order, where)} LIMIT $${params.push(query.limit + 1)} OFFSET $${params.push(query.offset)}`;
      const { rows } = await client.query<ItemDetailRow>(sql, params);
      const items = rows.slice(0, query.limit).map(itemDetailOfRow);
      return rows.length > query.limit ? { items, nextOffset: query.offset + query.limit } : { items };
    }));
  }

  async itemTimings(runId: string): Promise<ItemTimings | undefined> {
    await this.writes;
    return this.retryingRead(() => this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
      const run = await client.query<{ total: number; created_at: number }>('SELECT total, created_at FROM runs WHERE run_id = $1', [runId]);
      if (run.rows.length === 0) return undefined;
      const { rows } = await client.query<TimingRow>(
        'SELECT item_index, started_at, completed_at, steps FROM items WHERE run_id = $1 AND (started_at IS NOT NULL OR completed_at IS NOT NULL)',
        [runId],
      );
      return timingsOfRows(run.rows[0], rows);
    }));
  }

  recordItems(transitions: ItemTransitions): Promise<void> {
    if (transitions.length === 0) return this.write(async () => {});
    // Built now: the batch is the caller's again once this returns.
    const rows = itemRowTexts(transitions);
    return this.write((client) => updateItems(client, rows));
  }

  markCancelled(runId: string): Promise<void> {
    return this.write(async (client) => {
      await client.query('UPDATE runs SET cancel_requested = true WHERE run_id = $1', [runId]);
    });
  }

  finishRun(runId: string, status: Status, completedAt: number): Promise<void> {
    return this.write(async (client) => {
      await client.query('UPDATE runs SET status = $1, completed_at = $2 WHERE run_id = $3', [status, completedAt, runId]);
      await client.query(CALLBACK_DUE, [runId, completedAt]);
    });
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    await this.writes;
    // One snapshot for the run and its items.
    return this.retryingRead(() => this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
      // All sent at once: the transaction is never idle waiting for this process between them.
      const [{ rows }, itemRows, callbackRows] = await Promise.all([
        client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]),
        client.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE run_id = $1 ORDER BY item_index`, [runId]),
        client.query<CallbackRow>(`SELECT ${CALLBACK_COLUMNS} FROM callbacks WHERE run_id = $1`, [runId]),
      ]);
      if (rows.length === 0) return undefined;
      const items = itemRows.rows.map(itemOfRow);
      const callback = callbackRows.rows[0];
      const record = loadedRecord(recordOfRow(rows[0]), items, callback && callbackTargetOfRow(callback));
      return { record, state: stateOfRow(rows[0]), items };
    }));
  }

  /**
   * A read, tried again (twice, 100 ms apart and then 200) when it found the database unreachable:
   * a pooled connection whose backend was terminated fails the first statement sent on it, and a
   * reader (a cluster node answers every `runs/get` from the database) should not see that.
   */
  private async retryingRead<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (attempt >= READ_RETRIES || !isStoreUnavailable(err) || isStoreClosed(err) || this.closing) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  async loadInputs(runId: string, indices?: readonly number[]): Promise<unknown[]> {
    await this.writes;
    if (indices !== undefined) {
      const sql = 'SELECT i.input FROM unnest($2::int[]) WITH ORDINALITY AS s(idx, pos) JOIN items i ON i.run_id = $1 AND i.item_index = s.idx ORDER BY s.pos';
      const { rows } = await this.retryingRead(() => this.pool.query<{ input: string }>(sql, [runId, indices]));
      return rows.map((row) => JSON.parse(row.input) as unknown);
    }
    const { rows } = await this.retryingRead(() => this.pool.query<{ input: string }>('SELECT input FROM items WHERE run_id = $1 ORDER BY item_index', [runId]));
    return rows.map((row) => JSON.parse(row.input) as unknown);
  }

  async callbackStates(runIds: readonly string[]): Promise<Map<string, StoredCallbackState>> {
    if (runIds.length === 0) return new Map();
    await this.writes;
    const sql = `SELECT ${CALLBACK_COLUMNS} FROM callbacks WHERE run_id = ANY($1::text[])`;
    const { rows } = await this.retryingRead(() => this.pool.query<CallbackRow>(sql, [runIds]));
    return new Map(rows.map((row) => [row.run_id, callbackStateOfRow(row)]));
  }

  /** One statement: rows another process is claiming at this moment are skipped, not waited for. */
  async claimCallbacks(claim: CallbackClaim): Promise<CallbackDelivery[]> {
    const { rows } = await this.query<CallbackRow>(CLAIM_CALLBACKS, [claim.holder, claim.now + claim.leaseMs, claim.now, claim.limit]);
    return rows.map(deliveryOfRow);
  }

  async recordCallbackAttempt(runId: string, attempt: CallbackAttempt): Promise<void> {
    await this.query(RECORD_CALLBACK_ATTEMPT, [
      runId,
      attempt.at,
      attempt.statusCode ?? null,
      attempt.error ?? null,
      attempt.delivered ? attempt.at : null,
      attempt.delivered ? null : (attempt.nextAttemptAt ?? null),
    ]);
  }

  async unfinishedRuns(): Promise<string[]> {
    await this.writes;
    // A run cut into chunks belongs to the cluster's nodes, which claim its chunks (docs/cluster.md).
    const { rows } = await this.pool.query<{ run_id: string }>(
      'SELECT run_id FROM runs WHERE completed_at IS NULL AND NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.run_id = runs.run_id) ORDER BY seq',
    );
    return rows.map((row) => row.run_id);
  }

  async listRuns(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    await this.writes;
    return this.retryingRead(() => this.listRunsOnce(query));
  }

  private listRunsOnce(query: RunQuery): Promise<{ runs: RunSummary[]; nextCursor?: string }> {
    return listRunsFrom(
      {
        candidates: async (q, beforeSeq, limit) => {
          const params = postgresParams();
          const where = runQueryCondition(q, beforeSeq, params);
          const sql = `SELECT ${RUN_COLUMNS} FROM runs WHERE ${where} ORDER BY ${runQueryOrder(q)} LIMIT ${params.add(limit)}`;
          return (await this.pool.query<RunRow>(sql, params.values)).rows;
        },
        statusCounts: (runIds) => this.statusCounts(runIds),
      },
      query,
    );
  }

  async runSummary(runId: string): Promise<RunSummary | undefined> {
    await this.writes;
    // The list's derivation over a page of one candidate: the same status and counters as runs/list.
    const { runs } = await this.retryingRead(() =>
      listRunsFrom(
        {
          candidates: async (_query, beforeSeq) => (beforeSeq === undefined ? this.runRows(runId) : []),
          statusCounts: (runIds) => this.statusCounts(runIds),
        },
        { limit: 1 },
      ),
    );
    const summary = runs[0];
    if (summary === undefined) return undefined;
    // As loadRun answers it: with the run's completion callback, if it has one.
    const callback = await this.retryingRead(() => this.pool.query<CallbackRow>(`SELECT ${CALLBACK_COLUMNS} FROM callbacks WHERE run_id = $1`, [runId]));
    if (callback.rows[0] !== undefined) summary.record.callback = callbackTargetOfRow(callback.rows[0]);
    return summary;
  }

  async runHead(runId: string): Promise<Pick<RunSummary, 'record' | 'state'> | undefined> {
    await this.writes;
    const [row] = await this.retryingRead(() => this.runRows(runId));
    return row && { record: recordOfRow(row), state: stateOfRow(row) };
  }

  /** The run's row, or none. */
  private async runRows(runId: string): Promise<RunRow[]> {
    return (await this.pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId])).rows;
  }

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    await this.writes;
    const params = postgresParams();
    const sql = flowListSql(query, params);
    if (sql === undefined) return { flows: [] };
    const { rows } = await this.retryingRead(() => this.pool.query<FlowUseRow>(sql, params.values));
    return flowPageOf(rows, query.limit);
  }

  /** Item counts by run and status: the only query deriving counters. */
  private async statusCounts(runIds: readonly string[]): Promise<StatusCountRow[]> {
    if (runIds.length === 0) return [];
    const sql = `SELECT ${COUNT_COLUMNS} FROM items WHERE run_id = ANY($1::text[]) GROUP BY run_id, status`;
    return (await this.pool.query<StatusCountRow>(sql, [runIds])).rows;
  }

  /**
   * One statement on the pool, outside the journal's write order: for the cluster's own tables
   * (nodes), whose statements must not wait behind a long journal write.
   */
  async query<R extends pg.QueryResultRow>(sql: string | PreparedStatement, params: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    if (this.closing) throw new Error('postgres state store is closed');
    const result = typeof sql === 'string' ? await this.pool.query<R>(sql, params as unknown[]) : await this.pool.query<R>({ ...sql }, params as unknown[]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  close(): Promise<void> {
    return (this.closing ??= this.writes.then(() => this.pool.end()));
  }

  /**
   * Runs `work` in a transaction in the journal's write order (after every write called before it):
   * for a cluster's fenced journal writes, which must keep the order of this store's own.
   */
  writeInOrder(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    return this.write(work);
  }

  /**
   * Runs `work` in the journal's write order on a connection of the pool, without a transaction
   * around it: for writes that are one statement each (each is atomic on its own), which saves
   * the round trips of BEGIN and COMMIT.
   */
  statementsInOrder<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('postgres state store is closed'));
    const done = this.writes.then(() => this.transaction(undefined, work));
    this.writes = done.catch(() => {});
    return done;
  }

  /** Runs `work` in a transaction of its own, outside the journal's write order (claims, leases, cancels). */
  inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('postgres state store is closed'));
    return this.transaction('BEGIN', work);
  }

  /**
   * One transaction in the journal's order. The tree's chunks and runs are locked first (chunks
   * before runs, as every transaction here takes them), so a run finishing on another node is
   * waited for and then read as it is: only a run finished when the lock is held is deleted.
   */
  deleteRun(runId: string, options: { dryRun?: boolean } = {}): Promise<DeleteRunOutcome> {
    return this.write(async (client) => {
      const tree = (await client.query<RunTreeRow>(runTreeSql('$1'), [runId])).rows;
      if (tree.length === 0) return { outcome: 'notFound' };
      const ids = tree.map((row) => row.run_id);
      await client.query('SELECT 1 FROM chunks WHERE run_id = ANY($1::text[]) ORDER BY run_id, chunk_index FOR UPDATE', [ids]);
      await client.query('SELECT 1 FROM runs WHERE run_id = ANY($1::text[]) ORDER BY seq FOR UPDATE', [ids]);
      const outcome = deletionOf((await client.query<RunTreeRow>(runTreeSql('$1'), [runId])).rows);
      if (outcome.outcome !== 'deleted' || options.dryRun) return outcome;
      // The run rows last: a run is never seen without its items.
      for (const table of [...RUN_ROW_TABLES, 'chunks', 'runs']) await client.query(`DELETE FROM ${table} WHERE run_id = ANY($1::text[])`, [outcome.runIds]);
      return outcome;
    });
  }

  async hasRun(runId: string): Promise<boolean> {
    await this.writes;
    const { rows } = await this.retryingRead(() => this.pool.query('SELECT 1 FROM runs WHERE run_id = $1', [runId]));
    return rows.length > 0;
  }

  async expiredRuns(completedBefore: number, limit: number): Promise<string[]> {
    await this.writes;
    const { rows } = await this.pool.query<{ run_id: string }>(expiredRunsSql('$1', '$2'), [completedBefore, limit]);
    return rows.map((row) => row.run_id);
  }

  async flowUses(): Promise<Map<string, number>> {
    await this.writes;
    const { rows } = await this.pool.query<{ flow_id: string; n: number }>(FLOW_USES_SQL);
    return new Map(rows.map((row) => [row.flow_id, row.n]));
  }

  /** Holds a session advisory lock on a connection of its own while `work` runs; another holder means `{ran: false}`. */
  async exclusively<T>(lock: ExclusiveLock, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.closing) throw new Error('postgres state store is closed');
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [EXCLUSIVE_LOCK_KEYS[lock]]);
      if (!rows[0].locked) return { ran: false };
      try {
        return { ran: true, value: await work() };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [EXCLUSIVE_LOCK_KEYS[lock]]).catch((err: Error) => (broken = err));
      }
    } finally {
      client.removeListener('error', onError);
      // A connection that lost its lock's session is discarded, and the lock with it.
      client.release(broken);
    }
  }

  /** Runs `work` in a transaction after every write called before it. */
  private write<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('postgres state store is closed'));
    const done = this.writes.then(() => this.transaction('BEGIN', work));
    this.writes = done.catch(() => {});
    return done;
  }

  /** `work` on a pooled connection, inside `begin` … COMMIT, or with `begin` undefined, outside any transaction. */
  private async transaction<T>(begin: string | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out emits 'error' besides failing its query; unheard, that
    // event would crash the process. The connection is then discarded (the writer retries).
    const onError = (err: Error) => {
      broken = err;
      this.logger.warn({ err }, 'postgres state store: a connection was lost during a transaction');
    };
    client.on('error', onError);
    try {
      if (begin !== undefined) await client.query(begin);
      const result = await work(client);
      if (begin !== undefined) await client.query('COMMIT');
      return result;
    } catch (err) {
      if (begin !== undefined) await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw err;
    } finally {
      client.removeListener('error', onError);
      // A connection that cannot even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  }

  async countRunsByStatus(): Promise<RunStatusCounts> {
    await this.writes;
    return runStatusCountsOf((await this.pool.query<{ status: string; n: number }>(COUNT_RUNS_BY_STATUS_SQL)).rows);
  }

  async addBlobNamespace(blobId: string, namespace: string): Promise<void> {
    await this.query('INSERT INTO blob_namespaces (blob_id, namespace) VALUES ($1, $2) ON CONFLICT DO NOTHING', [blobId, namespace]);
  }

  async blobInNamespace(blobId: string, namespace: string): Promise<boolean> {
    const sql = 'SELECT 1 FROM blob_namespaces WHERE blob_id = $1 AND namespace = $2';
    const { rows } = await this.retryingRead(() => this.pool.query(sql, [blobId, namespace]));
    return rows.length > 0;
  }

  async deleteBlobNamespaces(blobIds: readonly string[]): Promise<void> {
    if (blobIds.length > 0) await this.query('DELETE FROM blob_namespaces WHERE blob_id = ANY($1::text[])', [blobIds]);
  }
}

/** Keys of the advisory locks of `exclusively` (the schema's is 0x666c6f77). */
const EXCLUSIVE_LOCK_KEYS: Record<ExclusiveLock, number> = { retention: 0x666c6f78 };

/** Marks a finished run's callback due (`$1` run id, `$2` when it finished), in the transaction that finishes the run. */
export const CALLBACK_DUE = `UPDATE callbacks SET due_since = $2, next_attempt_at = $2 WHERE run_id = $1 AND due_since IS NULL`;

/** Claims due callbacks under a lease: `$1` holder, `$2` lease end, `$3` now, `$4` how many. */
const CLAIM_CALLBACKS = `
  WITH due AS (
    SELECT run_id FROM callbacks
    WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $3 AND lease_until <= $3
    ORDER BY next_attempt_at LIMIT $4
    FOR UPDATE SKIP LOCKED)
  UPDATE callbacks c SET holder = $1, lease_until = $2 FROM due WHERE c.run_id = due.run_id
  RETURNING ${CALLBACK_COLUMNS.split(', ').map((column) => `c.${column}`).join(', ')}`;

/** `$1` run id, `$2` when, `$3` HTTP status, `$4` error, `$5` delivered at, `$6` next attempt. */
const RECORD_CALLBACK_ATTEMPT = `
  UPDATE callbacks SET attempts = attempts + 1, last_attempt_at = $2, status_code = $3, error = $4,
    delivered_at = $5, next_attempt_at = $6, holder = NULL, lease_until = 0
  WHERE run_id = $1 AND delivered_at IS NULL`;

/**
 * Inserts a run and its items, all pending, and its callback's outbox row (in the caller's transaction); when the run's
 * idempotency key is taken, inserts nothing and returns the id of the run holding it. The unique
 * index decides: a concurrent insert of the same key waits for this transaction and then finds it.
 */
export async function insertRun(client: pg.ClientBase, run: RunRecord, inputs: readonly unknown[]): Promise<string | undefined> {
  const inserted = await client.query(
    `INSERT INTO runs (run_id, flow_id, flow_name, flow_label, parent_run_id, parent_item_index, created_at, total, max_concurrency, variables, overrides,
       idempotency_key, metadata, record_steps, rerun_of, defaults, namespace, submitted_by, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'running')
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      run.runId,
      run.flowId,
      run.flowName ?? null,
      run.flowLabel ?? null,
      run.parentRunId ?? null,
      run.parentItemIndex ?? null,
      run.createdAt,
      run.total,
      run.maxConcurrency,
      jsonText(run.variables),
      run.overrides === undefined ? null : jsonText(run.overrides),
      run.idempotencyKey ?? null,
      run.metadata === undefined ? null : jsonText(run.metadata),
      run.recordSteps === true,
      run.rerunOf ?? null,
      run.defaults === undefined ? null : jsonText(run.defaults),
      run.namespace ?? 'default',
      run.submittedBy ?? null,
    ],
  );
  if (inserted.rowCount === 0) {
    const { rows } = await client.query<{ run_id: string }>('SELECT run_id FROM runs WHERE idempotency_key = $1', [run.idempotencyKey]);
    // Released again since (a key past its TTL): nobody holds it now, so this insert may not be skipped.
    if (rows.length === 0) throw new Error(`idempotency key ${JSON.stringify(run.idempotencyKey)} changed hands during the submit; submit again`);
    return rows[0].run_id;
  }
  if (run.callback) {
    const { url, secret, headers } = run.callback;
    await client.query('INSERT INTO callbacks (run_id, url, secret, headers, delivery_id) VALUES ($1, $2, $3, $4, $5)', [
      run.runId,
      url,
      secret ?? null,
      headers === undefined ? null : jsonText(headers),
      randomUUID(),
    ]);
  }
  const insertItems = `INSERT INTO items (run_id, item_index, status, attempts, input)
    SELECT $1, $2 + ordinality - 1, 'pending', 0, value FROM json_array_elements($3::json) WITH ORDINALITY`;
  // JSON texts a slice at a time: a million at once would block the event loop.
  for (let start = 0; start < inputs.length; start += ITEMS_PER_SLICE) {
    const texts = inputs.slice(start, start + ITEMS_PER_SLICE).map(jsonText);
    for (const { first, json } of jsonArrayChunks(texts)) await client.query(insertItems, [run.runId, start + first, json]);
  }
  // Only reruns have source indices: the usual insert stays as it is.
  if (run.sourceIndices) {
    const setSources = `UPDATE items SET source_index = s.src FROM unnest($2::int[]) WITH ORDINALITY AS s(src, pos)
      WHERE run_id = $1 AND item_index = $3 + s.pos - 1`;
    for (let start = 0; start < run.sourceIndices.length; start += ITEMS_PER_SLICE) {
      await client.query(setSources, [run.runId, run.sourceIndices.slice(start, start + ITEMS_PER_SLICE), start]);
    }
  }
  return undefined;
}

/**
 * The batch as JSON rows for `updateItems`, one per item: written straight from the columns,
 * skipping transitions a later one of their item overwrites (and, given `include`, the items it
 * refuses: a cluster node's fenced write); a batch where an item settles and then starts again
 * (kept both) is merged through objects instead, which is rare.
 */
export function itemRowTexts(batch: ItemTransitions, include?: (runId: string, itemIndex: number) => boolean): string[] {
  const superseded = supersededTransitions(batch);
  if (superseded.includes(2)) return collapsedRowTexts(include ? batch.toUpdates().filter((u) => include(u.runId, u.itemIndex)) : batch.toUpdates());
  const { runIds, indices, statuses, attempts, results, completedAt, completionSeqs, startedAt, steps } = batch;
  const rows: string[] = [];
  let runId: string | undefined;
  let runIdJson = '';
  for (let k = 0; k < batch.length; k++) {
    if (superseded[k] === 1 || (include && !include(runIds[k], indices[k]))) continue;
    if (runIds[k] !== runId) runIdJson = JSON.stringify((runId = runIds[k]));
    const started = Number.isNaN(startedAt[k]) ? '' : `,"started_at":${startedAt[k]}`;
    const head = `{"run_id":${runIdJson},"item_index":${indices[k]},"status":"${ITEM_STATUS_BY_CODE[statuses[k]]}","attempts":${attempts[k]}${started}`;
    if (statuses[k] === RUNNING_CODE) rows.push(`${head},"settled":false}`);
    else {
      // An absent key reads as SQL NULL; a JSON null would read as the json value `null`.
      const result = results[k] === undefined ? '' : `,"result":${jsonText(results[k])}`;
      const stepsJson = steps[k] === undefined ? '' : `,"steps":${jsonText(steps[k])}`;
      rows.push(`${head},"settled":true${result}${stepsJson},"completed_at":${completedAt[k]},"completion_seq":${completionSeqs[k]}}`);
    }
  }
  return rows;
}

/** One JSON row per item with the effect of `updates` in order (`collapseItemUpdates`). */
function collapsedRowTexts(updates: readonly ItemUpdate[]): string[] {
  return collapseItemUpdates(updates).map((u) =>
    jsonText({
      run_id: u.runId,
      item_index: u.itemIndex,
      status: u.status,
      attempts: u.attempts,
      settled: u.settled !== undefined,
      started_at: u.startedAt,
      steps: u.settled?.steps,
      result: u.settled?.result,
      completed_at: u.settled?.completedAt,
      completion_seq: u.settled?.completionSeq,
    }),
  );
}

async function updateItems(client: pg.PoolClient, rows: readonly string[]): Promise<void> {
  const sql = `UPDATE items AS i SET
      status = u.status,
      attempts = u.attempts,
      result = CASE WHEN u.settled THEN u.result ELSE i.result END,
      completed_at = CASE WHEN u.settled THEN u.completed_at ELSE i.completed_at END,
      completion_seq = CASE WHEN u.settled THEN u.completion_seq ELSE i.completion_seq END,
      started_at = COALESCE(u.started_at, i.started_at),
      steps = CASE WHEN u.settled THEN u.steps ELSE i.steps END
    FROM json_to_recordset($1::json) AS u(run_id text, item_index integer, status text, attempts integer,
      settled boolean, result json, completed_at bigint, completion_seq integer, started_at bigint, steps json)
    WHERE i.run_id = u.run_id AND i.item_index = u.item_index`;
  for (const { json } of jsonArrayChunks(rows)) await client.query(sql, [json]);
}

/** Groups JSON texts into JSON arrays of bounded rows and size; `first` is the index of a chunk's first element. */
export function* jsonArrayChunks(texts: readonly string[]): Generator<{ first: number; json: string }> {
  let first = 0;
  while (first < texts.length) {
    let end = first;
    let bytes = 0;
    while (end < texts.length && end - first < ROWS_PER_STATEMENT && (end === first || bytes + texts[end].length <= BYTES_PER_STATEMENT)) {
      bytes += texts[end].length + 1;
      end++;
    }
    yield { first, json: `[${texts.slice(first, end).join(',')}]` };
    first = end;
  }
}

/** Numbered `$n` parameters; lists are bound as one text array. */
function postgresParams(): SqlParams {
  const values: unknown[] = [];
  const add = (value: unknown) => `$${values.push(value)}`;
  return {
    values,
    add,
    oneOf: (column, list) => `${column} = ANY(${add(list)}::text[])`,
    metadataContains: (wanted) => `metadata @> ${add(JSON.stringify(wanted))}::jsonb`,
  };
}
