import type { Status } from '../../protocol/index.js';
import type { SharedRunProgress } from '../runs/shared-work.js';
import type { PostgresStateStore } from '../statestore/postgres-state-store.js';
import { CHUNK_ITEM_COUNTS } from './chunks-sql.js';
import { prepared } from '../statestore/prepared-statement.js';

/** Runs whose done chunks' counts a node remembers; the oldest is forgotten past this (it is only read again). */
const RUNS_KEPT = 1_000;

type Statuses = 'pending' | 'running' | 'success' | 'failed' | 'cancelled';

/** What is known of a run's done chunks: which were counted, and their items by status. */
interface DoneChunks {
  chunks: Set<number>;
  counts: Record<Statuses, number>;
}

type CountRow = { chunk_index: number; done: boolean } & Record<Statuses, number>;

const STATUSES: readonly Statuses[] = ['pending', 'running', 'success', 'failed', 'cancelled'];

/**
 * A run's counters for its progress events, read from the database (every node's items count)
 * without reading every item each time: a done chunk's items are terminal and stay so, so each done
 * chunk is counted once and remembered, and chunks never claimed are all pending (docs/cluster.md).
 * A read costs the items of the chunks claimed and not done, not the whole run.
 */
export class RunProgressCounts {
  private readonly runs = new Map<string, DoneChunks>();

  constructor(private readonly store: PostgresStateStore) {}

  async read(runId: string): Promise<SharedRunProgress | undefined> {
    const known = this.runs.get(runId) ?? { chunks: new Set<number>(), counts: noCounts() };
    // What this read adds to: the done chunks as known when it starts.
    const counts = { ...known.counts };
    const [run, chunks] = await Promise.all([
      this.store.query<{ total: number; status: string | null; completed_at: number | null }>('SELECT total, status, completed_at FROM runs WHERE run_id = $1', [runId]),
      this.store.query<CountRow>(prepared(CHUNK_ITEM_COUNTS), [runId, [...known.chunks]]),
    ]);
    const row = run.rows[0];
    if (row === undefined || row.completed_at !== null) this.runs.delete(runId);
    if (row === undefined) return undefined;
    for (const chunk of chunks.rows) {
      // Another read may have remembered this chunk meanwhile.
      const remember = chunk.done && !known.chunks.has(chunk.chunk_index);
      for (const status of STATUSES) {
        counts[status] += chunk[status];
        if (remember) known.counts[status] += chunk[status];
      }
      if (remember) known.chunks.add(chunk.chunk_index);
    }
    if (row.completed_at === null) this.remember(runId, known);
    const items = { total: row.total, ...counts };
    if (row.completed_at === null) return { counts: items };
    return { counts: items, completedAt: row.completed_at, status: row.status as Status };
  }

  private remember(runId: string, known: DoneChunks): void {
    this.runs.delete(runId);
    this.runs.set(runId, known);
    if (this.runs.size > RUNS_KEPT) this.runs.delete(this.runs.keys().next().value!);
  }
}

function noCounts(): Record<Statuses, number> {
  return { pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 };
}
