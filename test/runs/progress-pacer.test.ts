import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { ProgressPacer, type PacedEvent } from '../../src/runs/progress-pacer.js';

const run = (runId: string, success: number): RunStatus => ({
  runId,
  flowId: 'sha256:f',
  status: 'running',
  items: { total: 100, pending: 100 - success, running: 0, success, failed: 0, cancelled: 0 },
  createdAt: '2026-01-01T00:00:00.000Z',
});
const progress = (cursor: number, runId: string, success: number): PacedEvent => ({ cursor, type: 'run.progress', run: run(runId, success) });

/** Pacing of one watcher's progress events (docs/events.md), on a fake clock. */
describe('ProgressPacer', () => {
  let sent: PacedEvent[];
  let pacer: ProgressPacer;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    pacer = new ProgressPacer(250, (e) => sent.push(e), () => Date.now());
  });
  afterEach(() => {
    pacer.close();
    vi.useRealTimers();
  });
  const summary = () => sent.map((e) => [e.cursor, e.type, e.run.runId, e.run.items.success]);

  it('sends at most one progress per run per period, the latest held one when the period ends', () => {
    pacer.push(progress(1, 'a', 1));
    pacer.push(progress(2, 'a', 2));
    pacer.push(progress(3, 'a', 3));
    expect(summary()).toEqual([[1, 'run.progress', 'a', 1]]);
    vi.advanceTimersByTime(249);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(summary()).toEqual([[1, 'run.progress', 'a', 1], [3, 'run.progress', 'a', 3]]);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(2);
  });

  it('paces each run on its own', () => {
    pacer.push(progress(1, 'a', 1));
    pacer.push(progress(2, 'b', 1));
    pacer.push(progress(3, 'a', 2));
    expect(summary()).toEqual([[1, 'run.progress', 'a', 1], [2, 'run.progress', 'b', 1]]);
  });

  it('sends a held progress with the final counters just before run.finished', () => {
    pacer.push(progress(1, 'a', 1));
    pacer.push(progress(2, 'a', 100));
    pacer.push({ cursor: 3, type: 'run.finished', run: { ...run('a', 100), status: 'success' } });
    expect(summary()).toEqual([[1, 'run.progress', 'a', 1], [2, 'run.progress', 'a', 100], [3, 'run.finished', 'a', 100]]);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(3);
  });

  it('never lets cursors go down: a held progress released after later events carries the highest cursor sent', () => {
    pacer.push(progress(1, 'a', 1));
    pacer.push(progress(2, 'a', 2));
    pacer.push({ cursor: 3, type: 'run.created', run: run('b', 0) });
    vi.advanceTimersByTime(250);
    expect(summary()).toEqual([[1, 'run.progress', 'a', 1], [3, 'run.created', 'b', 0], [3, 'run.progress', 'a', 2]]);
    expect(pacer.cursor).toBe(3);
  });

  it('drops a progress with fewer settled items than one seen before, so the final counters stay last', () => {
    pacer.push(progress(1, 'a', 10));
    pacer.push(progress(2, 'a', 100));
    pacer.push(progress(3, 'a', 60));
    pacer.push({ cursor: 4, type: 'run.finished', run: { ...run('a', 100), status: 'success' } });
    expect(summary()).toEqual([[1, 'run.progress', 'a', 10], [2, 'run.progress', 'a', 100], [4, 'run.finished', 'a', 100]]);
  });

  it('passes other events at once', () => {
    for (const type of ['run.created', 'run.started'] as const) pacer.push({ cursor: sent.length + 1, type, run: run('a', 0) });
    expect(sent.map((e) => e.type)).toEqual(['run.created', 'run.started']);
  });
});
