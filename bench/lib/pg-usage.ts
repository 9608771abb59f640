/**
 * What a pass costs one PostgreSQL server: statements (pg_stat_statements when the server loaded it,
 * else transactions and tuples from pg_stat_database), WAL bytes (`pg_current_wal_lsn()`), and the
 * CPU of the postmaster and all its backends (from /proc; the server must run on this machine).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBin } from './postgres-bin.js';
import { parentPid, treeCpuMicros } from './proc-cpu.js';
/** Longer than PostgreSQL's idle stats interval: pg_stat_database has every count by then. */
const STATS_FLUSH_MS = 11_000;

/**
 * The server settings that load pg_stat_statements, when the PostgreSQL the bench starts has the
 * module (Debian's layout: `<major>/bin` beside `<major>/lib`); else none.
 */
export function statementStatsSettings(): string[] {
  const bin = findPostgresBin();
  const installed = bin !== undefined && existsSync(join(bin, '..', 'lib', 'pg_stat_statements.so'));
  return installed ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_utility=on'] : [];
}

/** How statements were counted. */
export type StatementSource = 'pg_stat_statements' | 'pg_stat_database';

/** A server's counters over one window. */
export interface PgUsage {
  source: StatementSource;
  /** Statements executed in the database (BEGIN/COMMIT included); NaN with pg_stat_database. */
  statements: number;
  /** Committed + rolled back transactions of the database (pg_stat_database only, else NaN). */
  transactions: number;
  /** Rows returned, fetched, inserted, updated and deleted in the database (pg_stat_database only, else NaN). */
  tuples: number;
  walBytes: number;
  /** CPU µs of the postmaster and every backend; NaN when its processes cannot be read here. */
  cpuMicros: number;
}

interface Snapshot {
  statements: number;
  transactions: number;
  tuples: number;
  lsn: string;
  cpuMicros: number;
}

/** Reads a PostgreSQL server's counters on one connection to its maintenance database. */
export class PgUsageMeter {
  private constructor(
    private readonly client: pg.Client,
    readonly source: StatementSource,
    private readonly postmasterPid: number | undefined,
  ) {}

  /** Connects to `serverUrl` (the `postgres` database); creates pg_stat_statements there when the server loaded it. */
  static async open(serverUrl: string): Promise<PgUsageMeter> {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    const loaded = await client.query<{ v: string }>("SELECT current_setting('shared_preload_libraries') AS v");
    let source: StatementSource = 'pg_stat_database';
    if (/\bpg_stat_statements\b/.test(loaded.rows[0]?.v ?? '')) {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      source = 'pg_stat_statements';
    }
    const backend = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return new PgUsageMeter(client, source, parentPid(backend.rows[0].pid));
  }

  /** Starts a window on database `database`; the returned function ends it and gives the usage in between. */
  async start(database: string): Promise<() => Promise<PgUsage>> {
    if (this.source === 'pg_stat_statements') await this.client.query('SELECT pg_stat_statements_reset()');
    const before = await this.snapshot(database);
    return async () => {
      // Backends send pg_stat_database counts up to PGSTAT_IDLE_INTERVAL (10 s) after going idle.
      if (this.source === 'pg_stat_database') await new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
      const after = await this.snapshot(database);
      const wal = await this.client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS bytes', [after.lsn, before.lsn]);
      return {
        source: this.source,
        statements: this.source === 'pg_stat_statements' ? after.statements : NaN,
        transactions: this.source === 'pg_stat_database' ? after.transactions - before.transactions : NaN,
        tuples: this.source === 'pg_stat_database' ? after.tuples - before.tuples : NaN,
        walBytes: Number(wal.rows[0].bytes),
        cpuMicros: after.cpuMicros - before.cpuMicros,
      };
    };
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  private async snapshot(database: string): Promise<Snapshot> {
    const statements =
      this.source === 'pg_stat_statements'
        ? await this.client.query<{ n: string | null }>(
            'SELECT sum(calls)::text AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1',
            [database],
          )
        : undefined;
    const db = await this.client.query<{ xacts: string; tuples: string; lsn: string }>(
      `SELECT (xact_commit + xact_rollback)::text AS xacts,
              (tup_returned + tup_fetched + tup_inserted + tup_updated + tup_deleted)::text AS tuples,
              pg_current_wal_lsn()::text AS lsn
         FROM pg_stat_database WHERE datname = $1`,
      [database],
    );
    const row = db.rows[0];
    if (!row) throw new Error(`database "${database}" not found on the bench's PostgreSQL`);
    return {
      statements: Number(statements?.rows[0]?.n ?? 0),
      transactions: Number(row.xacts),
      tuples: Number(row.tuples),
      lsn: row.lsn,
      cpuMicros: this.postmasterPid === undefined ? NaN : treeCpuMicros(this.postmasterPid),
    };
  }
}
