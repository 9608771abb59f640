import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import type { StateStore } from '../../src/statestore/index.js';
import type { RunEventRecord } from '../../src/statestore/run-event-log.js';
import type { StateStoreContractOptions, StateStoreFixture } from './contract.js';

const T0 = 1_700_000_000_000;

const runAt = (runId: string, success: number): RunStatus => ({
  runId,
  flowId: 'sha256:flow',
  status: 'running',
  items: { total: 10, pending: 10 - success, running: 0, success, failed: 0, cancelled: 0 },
  createdAt: new Date(T0).toISOString(),
});

/**
 * The run event log of every state store (docs/events.md): cursors rise and are never reused,
 * pages after a cursor, each event with its run's namespace, pruning by age; a durable store keeps events and cursors across a reopen.
 */
export function describeEventLogContract(options: StateStoreContractOptions, createFixture: () => Promise<StateStoreFixture>): void {
  describe('run events', () => {
    let fixture: StateStoreFixture;
    let store: StateStore;

    beforeEach(async () => {
      fixture = await createFixture();
      store = await fixture.open();
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    // Run b belongs to team-b, the others to default: each event keeps its run's namespace.
    const event = (runId: string, type: RunEventRecord['type'], at: number, success = 0): RunEventRecord => ({
      type, runId, namespace: runId === 'b' ? 'team-b' : 'default', at, run: runAt(runId, success),
    });

    it('gives rising cursors in append order and pages after a cursor', async () => {
      expect(await store.events.lastCursor()).toBe(0);
      const first = await store.events.append([event('a', 'run.created', T0), event('a', 'run.started', T0 + 1)]);
      const second = await store.events.append([event('b', 'run.created', T0 + 2), event('a', 'run.progress', T0 + 3, 4)]);
      const cursors = [...first, ...second];
      expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
      expect(new Set(cursors).size).toBe(4);
      expect(await store.events.lastCursor()).toBe(cursors[3]);
      const all = await store.events.after(0, 100);
      expect(all.map((e) => [e.cursor, e.runId, e.namespace, e.type])).toEqual([
        [cursors[0], 'a', 'default', 'run.created'],
        [cursors[1], 'a', 'default', 'run.started'],
        [cursors[2], 'b', 'team-b', 'run.created'],
        [cursors[3], 'a', 'default', 'run.progress'],
      ]);
      expect(all[3]).toMatchObject({ at: T0 + 3, run: runAt('a', 4) });
      expect((await store.events.after(cursors[1], 1)).map((e) => e.cursor)).toEqual([cursors[2]]);
      expect(await store.events.after(cursors[3], 10)).toEqual([]);
      expect(await store.events.append([])).toEqual([]);
    });

    it('prunes events older than a time, and never reuses their cursors', async () => {
      const cursors = await store.events.append([event('a', 'run.created', T0), event('a', 'run.finished', T0 + 10), event('b', 'run.created', T0 + 20)]);
      expect(await store.events.prune(T0 + 20)).toBe(2);
      expect((await store.events.after(0, 10)).map((e) => e.cursor)).toEqual([cursors[2]]);
      expect(await store.events.prune(T0 + 100)).toBe(1);
      expect(await store.events.after(0, 10)).toEqual([]);
      expect(await store.events.lastCursor()).toBe(cursors[2]);
      const [next] = await store.events.append([event('c', 'run.created', T0 + 200)]);
      expect(next).toBeGreaterThan(cursors[2]);
    });

    if (options.durable) {
      it('keeps events and goes on from the last cursor after a reopen', async () => {
        const [a, b] = await store.events.append([event('a', 'run.created', T0), event('a', 'run.finished', T0 + 1)]);
        await store.close();
        store = await fixture.open();
        expect((await store.events.after(a, 10)).map((e) => [e.cursor, e.type])).toEqual([[b, 'run.finished']]);
        expect(await store.events.lastCursor()).toBe(b);
        const [c] = await store.events.append([event('b', 'run.created', T0 + 2)]);
        expect(c).toBeGreaterThan(b);
      });
    }
  });
}
