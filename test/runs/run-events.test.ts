import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import type { StepInvoker } from '../../src/executor/item-executor.js';
import { RunManager } from '../../src/runs/run-manager.js';
import type { StoredRunEvent } from '../../src/statestore/run-event-log.js';

const FLOW = { name: 'one-step', steps: [{ id: 's', component: '/test/s', input: { $input: '$' } }], output: { $step: 's' } };
const instant: StepInvoker = async (inv) => ({ outcome: 'success', value: inv.input });

let manager: RunManager | undefined;
afterEach(async () => {
  await manager?.cancelAll();
  manager = undefined;
});

/** The events the run manager's feed produces (docs/events.md), on the memory store. */
describe('run events of a run manager', () => {
  it('sends created, started, progress and finished of a run, stored in the log with the same cursors', async () => {
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: instant });
    const events: StoredRunEvent[] = [];
    manager.events.listen((e) => events.push(e));
    const status = await manager.submit({ flow: FLOW, inputs: [1, 2, 3], wait: true, variables: {} });
    await manager.events.drain();
    const mine = events.filter((e) => e.runId === status.runId);
    expect(mine.map((e) => e.type)).toEqual(['run.created', 'run.started', 'run.progress', 'run.finished']);
    expect(mine[2].run.items).toMatchObject({ success: 3, pending: 0, running: 0 });
    const stored = await manager.events.stored(0, 100);
    expect(stored.map((e) => [e.cursor, e.type])).toEqual(mine.map((e) => [e.cursor, e.type]));
  });

  it('a run of 1,000,000 items makes a bounded number of events: progress is coalesced', async () => {
    manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: instant });
    const events: StoredRunEvent[] = [];
    manager.events.listen((e) => events.push(e));
    const inputs = Array.from({ length: 1_000_000 }, (_, i) => i);
    const status = await manager.submit({ flow: FLOW, inputs, wait: true, maxConcurrency: 256, variables: {} });
    expect(status.items).toMatchObject({ total: 1_000_000, success: 1_000_000 });
    await manager.events.drain();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('run.created');
    expect(types[1]).toBe('run.started');
    expect(types.at(-1)).toBe('run.finished');
    expect(events.at(-2)).toMatchObject({ type: 'run.progress', run: { items: { success: 1_000_000 } } });
    // One progress per 50 ms at most, whatever the item rate: far fewer than the items.
    expect(events.length).toBeLessThan(1000);
  }, 300_000);
});
