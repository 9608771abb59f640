import type pg from 'pg';
import type { RunEventLog, RunEventRecord, StoredRunEvent, StoredRunEventType } from './run-event-log.js';

interface EventRow {
  cursor: string;
  type: StoredRunEventType;
  run_id: string;
  at: string;
  run: string;
}

/**
 * The `run_events` table of a PostgreSQL state store (docs/events.md). `cursor` is a bigserial;
 * one append is one statement, so its events get consecutive cursors in order.
 */
export class PostgresRunEventLog implements RunEventLog {
  constructor(private readonly pool: pg.Pool) {}

  async append(events: readonly RunEventRecord[]): Promise<number[]> {
    if (events.length === 0) return [];
    const { rows } = await this.pool.query<{ cursor: string }>(
      `INSERT INTO run_events (type, run_id, at, run)
       SELECT type, run_id, at, run FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS e(type, run_id, at, run, n)
       ORDER BY n RETURNING cursor`,
      [events.map((e) => e.type), events.map((e) => e.runId), events.map((e) => e.at), events.map((e) => JSON.stringify(e.run))],
    );
    return rows.map((row) => Number(row.cursor)).sort((a, b) => a - b);
  }

  async after(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      'SELECT cursor, type, run_id, at, run FROM run_events WHERE cursor > $1 ORDER BY cursor LIMIT $2',
      [cursor, limit],
    );
    return rows.map((row) => ({ cursor: Number(row.cursor), type: row.type, runId: row.run_id, at: Number(row.at), run: JSON.parse(row.run) }));
  }

  async lastCursor(): Promise<number> {
    // The sequence, not max(cursor): pruning every event must not take the cursor back.
    const { rows } = await this.pool.query<{ n: string }>(
      "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('run_events', 'cursor')::regclass), 0) AS n",
    );
    return Number(rows[0].n);
  }

  async prune(before: number): Promise<number> {
    return (await this.pool.query('DELETE FROM run_events WHERE at < $1', [before])).rowCount ?? 0;
  }
}
