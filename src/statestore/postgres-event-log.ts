import type pg from 'pg';
import type { RunEventLog, RunEventRecord, StoredRunEvent, StoredRunEventType } from './run-event-log.js';

/** The channel a hint goes to after every append, payload the highest cursor (docs/events.md): every node of a cluster reads what is new. */
export const RUN_EVENTS_CHANNEL = 'flowrun_events';

/** Appends one event in the caller's transaction, with its hint (sent at commit): a run's `run.created` with the run itself. */
export async function appendEventIn(client: pg.ClientBase, event: RunEventRecord): Promise<void> {
  await client.query('INSERT INTO run_events (type, run_id, namespace, at, run) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
    event.type, event.runId, event.namespace, event.at, JSON.stringify(event.run),
  ]);
  await client.query('SELECT pg_notify($1, $2)', [RUN_EVENTS_CHANNEL, '']);
}

interface EventRow {
  cursor: string;
  type: StoredRunEventType;
  run_id: string;
  namespace: string;
  at: string;
  run: string;
}

/**
 * The `run_events` table of a PostgreSQL state store (docs/events.md). `cursor` is a bigserial;
 * one append is one statement, so its events get rising cursors in order. On a cluster several
 * nodes may append a run's `run.started` or `run.finished`: a unique index keeps the first, and
 * the others are not appended (their cursors are missing from the answer).
 */
export class PostgresRunEventLog implements RunEventLog {
  constructor(private readonly pool: pg.Pool) {}

  async append(events: readonly RunEventRecord[]): Promise<number[]> {
    if (events.length === 0) return [];
    const { rows } = await this.pool.query<{ cursor: string }>(
      `INSERT INTO run_events (type, run_id, namespace, at, run)
       SELECT type, run_id, namespace, at, run
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS e(type, run_id, namespace, at, run, n)
       ORDER BY n
       ON CONFLICT DO NOTHING RETURNING cursor`,
      [events.map((e) => e.type), events.map((e) => e.runId), events.map((e) => e.namespace), events.map((e) => e.at), events.map((e) => JSON.stringify(e.run))],
    );
    const cursors = rows.map((row) => Number(row.cursor)).sort((a, b) => a - b);
    if (cursors.length > 0) await this.pool.query('SELECT pg_notify($1, $2)', [RUN_EVENTS_CHANNEL, String(cursors[cursors.length - 1])]);
    return cursors;
  }

  async after(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      'SELECT cursor, type, run_id, namespace, at, run FROM run_events WHERE cursor > $1 ORDER BY cursor LIMIT $2',
      [cursor, limit],
    );
    return rows.map((row) => ({
      cursor: Number(row.cursor), type: row.type, runId: row.run_id, namespace: row.namespace, at: Number(row.at), run: JSON.parse(row.run),
    }));
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
