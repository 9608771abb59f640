import type Database from 'better-sqlite3';
import type { RunEventLog, RunEventRecord, StoredRunEvent, StoredRunEventType } from './run-event-log.js';

interface EventRow {
  cursor: number;
  type: StoredRunEventType;
  run_id: string;
  namespace: string;
  at: number;
  run: string;
}

/** The `run_events` table of a SQLite state store (docs/events.md); `cursor` is its AUTOINCREMENT key, never reused. */
export class SqliteRunEventLog implements RunEventLog {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly last: Database.Statement;
  private readonly remove: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare('INSERT INTO run_events (type, run_id, namespace, at, run) VALUES (?, ?, ?, ?, ?)');
    this.select = db.prepare('SELECT cursor, type, run_id, namespace, at, run FROM run_events WHERE cursor > ? ORDER BY cursor LIMIT ?');
    this.last = db.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'run_events'), 0) AS n");
    this.remove = db.prepare('DELETE FROM run_events WHERE at < ?');
  }

  async append(events: readonly RunEventRecord[]): Promise<number[]> {
    return this.db.transaction(() =>
      events.map((e) => Number(this.insert.run(e.type, e.runId, e.namespace, e.at, JSON.stringify(e.run)).lastInsertRowid)),
    )();
  }

  async after(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    return (this.select.all(cursor, limit) as EventRow[]).map((row) => ({
      cursor: row.cursor, type: row.type, runId: row.run_id, namespace: row.namespace, at: row.at, run: JSON.parse(row.run),
    }));
  }

  async lastCursor(): Promise<number> {
    return (this.last.get() as { n: number }).n;
  }

  async prune(before: number): Promise<number> {
    return this.remove.run(before).changes;
  }
}
