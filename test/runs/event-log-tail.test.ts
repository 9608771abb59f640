import { afterEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { EventLogTail } from '../../src/runs/event-log-tail.js';
import type { RunEventLog, RunEventRecord, StoredRunEvent } from '../../src/statestore/run-event-log.js';
import { waitFor } from '../support/wait-for.js';

const run = { runId: 'r', flowId: 'sha256:f', status: 'running', items: { total: 1, pending: 1, running: 0, success: 0, failed: 0, cancelled: 0 }, createdAt: '2026-01-01T00:00:00.000Z' } as RunStatus;

/** A shared log whose rows the test commits by hand, cursors chosen by the test (as nodes' appends commit out of order). */
class HandLog implements RunEventLog {
  rows: StoredRunEvent[] = [];
  commit(cursor: number): void {
    this.rows.push({ cursor, type: 'run.progress', runId: 'r', namespace: 'default', at: 0, run });
    this.rows.sort((a, b) => a.cursor - b.cursor);
  }
  async append(_events: readonly RunEventRecord[]): Promise<number[]> {
    return [];
  }
  async after(cursor: number, limit: number): Promise<StoredRunEvent[]> {
    return this.rows.filter((r) => r.cursor > cursor).slice(0, limit);
  }
  async lastCursor(): Promise<number> {
    return this.rows.at(-1)?.cursor ?? 0;
  }
  async prune(): Promise<number> {
    return 0;
  }
}

let tail: EventLogTail | undefined;
afterEach(() => tail?.close());

/** Reading a shared event log in cursor order (docs/events.md, "On a cluster"), on a fake clock for the gap. */
describe('EventLogTail', () => {
  it('delivers in cursor order, waits for a missing cursor, and delivers it when it commits', async () => {
    const log = new HandLog();
    const got: number[] = [];
    tail = new EventLogTail(log, (e) => got.push(e.cursor), () => 0, silentLogger);
    await tail.start(() => {});
    log.commit(1);
    log.commit(3);
    await tail.poll();
    expect(got).toEqual([1]);
    log.commit(2);
    await tail.poll();
    expect(got).toEqual([1, 2, 3]);
  });

  it('passes a cursor missing for longer than the wait (an append that never committed)', async () => {
    const log = new HandLog();
    const got: number[] = [];
    let clock = 0;
    tail = new EventLogTail(log, (e) => got.push(e.cursor), () => clock, silentLogger);
    await tail.start(() => {});
    log.commit(2);
    await tail.poll();
    expect(got).toEqual([]);
    clock = 5_000;
    await tail.poll();
    expect(got).toEqual([2]);
  });

  it('starts after what was stored before it, and reads when hinted', async () => {
    const log = new HandLog();
    log.commit(1);
    const got: number[] = [];
    let hint: () => void = () => {};
    tail = new EventLogTail(log, (e) => got.push(e.cursor), () => 0, silentLogger);
    await tail.start((wake) => (hint = wake));
    log.commit(2);
    hint();
    await waitFor(() => got.length === 1, { what: 'the hinted read' });
    expect(got).toEqual([2]);
  });
});
