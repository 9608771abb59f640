import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ItemUpdate, RunQuery, RunRecord, StateStore, StepTiming } from '../../src/statestore/index.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import type { StateStoreFixture } from './contract.js';

const T0 = 1_700_000_000_000;

/**
 * The run lifecycle part of the state store contract (docs/protocol.md: idempotent submits,
 * metadata, `runs/list` filters and order, timings, `runs/items`, `runs/metrics`): every backend
 * must show it, so it runs inside `describeStateStoreContract`.
 */
export function describeLifecycleContract(createFixture: () => Promise<StateStoreFixture>): void {
  describe('run lifecycle', () => {
    let fixture: StateStoreFixture;
    let store: StateStore;
    let clock: number;

    beforeEach(async () => {
      fixture = await createFixture();
      store = await fixture.open();
      clock = T0;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    const record = (runId: string, fields: Partial<RunRecord> = {}): RunRecord => ({
      runId,
      flowId: 'sha256:flow-a',
      createdAt: (clock += 1000),
      total: 0,
      maxConcurrency: 4,
      variables: {},
      ...fields,
    });
    const createRun = async (runId: string, itemCount: number, fields: Partial<RunRecord> = {}) => {
      const run = record(runId, { total: itemCount, ...fields });
      expect(await store.createRun(run, Array.from({ length: itemCount }, (_, i) => ({ i })))).toBeUndefined();
      return run;
    };
    const recordItems = (updates: readonly ItemUpdate[]) => store.recordItems(ItemTransitions.of(updates));
    const list = async (query: Omit<RunQuery, 'limit'> & { limit?: number } = {}) =>
      (await store.listRuns({ limit: 1000, ...query })).runs.map((r) => r.record.runId);
    const step = (stepId: string, status: StepTiming['status'], startedAt: number, fields: Partial<StepTiming> = {}): StepTiming => ({
      stepId, component: `/c/${stepId}`, status, startedAt, durationMs: 5, attempts: 1, ...fields,
    });

    describe('idempotency keys', () => {
      it('creates nothing for a key a stored run holds, and names that run', async () => {
        const first = await createRun('run-1', 2, { idempotencyKey: 'order-42' });
        expect(await store.createRun(record('run-2', { total: 1, idempotencyKey: 'order-42' }), [{ other: true }])).toBe('run-1');

        expect(await store.loadRun('run-2')).toBeUndefined();
        expect(await list()).toEqual(['run-1']);
        expect((await store.loadRun('run-1'))?.record).toEqual(first);
        expect(await store.runWithIdempotencyKey('order-42', first.createdAt - 1)).toBe('run-1');
        expect(await store.runWithIdempotencyKey('order-7', first.createdAt - 1)).toBeUndefined();
      });

      it('releases a key held by a run older than the TTL, so a new run may take it', async () => {
        const old = await createRun('run-old', 1, { idempotencyKey: 'k' });
        expect(await store.runWithIdempotencyKey('k', old.createdAt)).toBeUndefined();
        await createRun('run-new', 1, { idempotencyKey: 'k' });

        expect(await store.runWithIdempotencyKey('k', old.createdAt)).toBe('run-new');
        expect((await store.loadRun('run-old'))?.record.idempotencyKey).toBeUndefined();
        expect((await store.loadRun('run-new'))?.record.idempotencyKey).toBe('k');
      });

      it('lets exactly one of many concurrent creates of one key store its run', async () => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, n) => store.createRun(record(`run-${n}`, { total: 3, idempotencyKey: 'same' }), [1, 2, 3])),
        );
        const created = answers.map((holder, n) => (holder === undefined ? `run-${n}` : undefined)).filter((id) => id !== undefined);
        expect(created).toHaveLength(1);
        expect(answers.filter((holder) => holder !== undefined)).toEqual(Array(11).fill(created[0]));
        expect(await list()).toEqual(created);
        expect((await store.loadRun(created[0]!))?.items).toHaveLength(3);
      });
    });

    describe('metadata and list filters', () => {
      beforeEach(async () => {
        await createRun('a', 0, { flowName: 'greet', flowLabel: 'prod', metadata: { team: 'x', n: 1, on: true }, recordSteps: true });
        await createRun('b', 0, { flowName: 'greet', metadata: { team: 'y', n: '1', on: false } });
        await createRun('c', 0, { flowName: 'other', flowLabel: 'prod', parentRunId: 'a', parentItemIndex: 0, metadata: { team: 'x', note: 'é "q"' } });
        await createRun('d', 0, { rerunOf: 'a' });
      });

      it('stores metadata, recordSteps and rerunOf with the run', async () => {
        const a = await store.loadRun('a');
        expect(a?.record.metadata).toEqual({ team: 'x', n: 1, on: true });
        expect(a?.record.recordSteps).toBe(true);
        expect((await store.loadRun('b'))?.record.recordSteps).toBeUndefined();
        expect((await store.loadRun('c'))?.record.metadata).toEqual({ team: 'x', note: 'é "q"' });
        expect((await store.loadRun('d'))?.record.rerunOf).toBe('a');
        expect((await store.listRuns({ limit: 10, flowName: 'other' })).runs[0].record.metadata).toEqual({ team: 'x', note: 'é "q"' });
      });

      it('filters by every given metadata key and value, types included', async () => {
        expect(await list({ metadata: { team: 'x' } })).toEqual(['c', 'a']);
        expect(await list({ metadata: { team: 'x', n: 1 } })).toEqual(['a']);
        expect(await list({ metadata: { n: '1' } })).toEqual(['b']);
        expect(await list({ metadata: { on: true } })).toEqual(['a']);
        expect(await list({ metadata: { on: false } })).toEqual(['b']);
        expect(await list({ metadata: { note: 'é "q"' } })).toEqual(['c']);
        expect(await list({ metadata: { team: 'z' } })).toEqual([]);
      });

      it('filters by flow name, label, parent, roots only and rerunOf', async () => {
        expect(await list({ flowName: 'greet' })).toEqual(['b', 'a']);
        expect(await list({ flowLabel: 'prod' })).toEqual(['c', 'a']);
        expect(await list({ parentRunId: 'a' })).toEqual(['c']);
        expect(await list({ rootsOnly: true })).toEqual(['d', 'b', 'a']);
        expect(await list({ rerunOf: 'a' })).toEqual(['d']);
        expect(await list({ flowLabel: 'prod', rootsOnly: true })).toEqual(['a']);
      });

      it('lists oldest first when asked, paging with cursors in that order', async () => {
        expect(await list({ order: 'oldest' })).toEqual(['a', 'b', 'c', 'd']);
        const first = await store.listRuns({ limit: 3, order: 'oldest' });
        expect(first.runs.map((r) => r.record.runId)).toEqual(['a', 'b', 'c']);
        const second = await store.listRuns({ limit: 3, order: 'oldest', cursor: first.nextCursor });
        expect(second.runs.map((r) => r.record.runId)).toEqual(['d']);
        expect(second.nextCursor).toBeUndefined();

        const newest = await store.listRuns({ limit: 2 });
        expect(newest.runs.map((r) => r.record.runId)).toEqual(['d', 'c']);
        expect((await store.listRuns({ limit: 2, cursor: newest.nextCursor })).runs.map((r) => r.record.runId)).toEqual(['b', 'a']);
      });
    });

    describe('timings and step records', () => {
      it('keeps when each item started, its run first start, and step records of settled items', async () => {
        await createRun('run-1', 3);
        const steps = [step('s1', 'success', T0 + 10), step('s2', 'failed', T0 + 15, { attempts: 2, error: { code: 500, message: 'boom' } })];
        await recordItems([
          { runId: 'run-1', itemIndex: 1, status: 'running', attempts: 1, startedAt: T0 + 5 },
          { runId: 'run-1', itemIndex: 0, status: 'running', attempts: 1, startedAt: T0 + 9 },
          { runId: 'run-1', itemIndex: 0, status: 'failed', attempts: 1, result: { outcome: 'failed', error: { code: 500, message: 'x' } }, completedAt: T0 + 30, completionSeq: 0, startedAt: T0 + 9, steps },
        ]);
        const loaded = await store.loadRun('run-1');
        expect(loaded?.items.map((i) => i.startedAt)).toEqual([T0 + 9, T0 + 5, undefined]);
        expect((await store.listRuns({ limit: 1 })).runs[0].startedAt).toBe(T0 + 5);

        const page = await store.listItems('run-1', { offset: 0, limit: 10, order: 'byIndex', includeInput: false, includeSteps: true });
        expect(page?.items[0]).toEqual({
          itemIndex: 0, status: 'failed', attempts: 1, result: { outcome: 'failed', error: { code: 500, message: 'x' } },
          startedAt: T0 + 9, completedAt: T0 + 30, completionSeq: 0, steps,
        });
        expect(page?.items[1]).toEqual({ itemIndex: 1, status: 'running', attempts: 1, startedAt: T0 + 5 });
        expect(page?.items[2]).toEqual({ itemIndex: 2, status: 'pending', attempts: 0 });
      });

      it('keeps a start written in a later batch than an earlier attempt, and the latest attempt only', async () => {
        await createRun('run-1', 1);
        await recordItems([{ runId: 'run-1', itemIndex: 0, status: 'running', attempts: 1, startedAt: T0 + 1 }]);
        await recordItems([
          { runId: 'run-1', itemIndex: 0, status: 'running', attempts: 2, startedAt: T0 + 50 },
          { runId: 'run-1', itemIndex: 0, status: 'success', attempts: 2, result: { outcome: 'success', value: 1 }, completedAt: T0 + 80, completionSeq: 0, startedAt: T0 + 50 },
        ]);
        const timings = await store.itemTimings('run-1');
        expect(timings?.createdAt).toBe(T0 + 1000);
        expect([...timings!.startedAt]).toEqual([T0 + 50]);
        expect([...timings!.completedAt]).toEqual([T0 + 80]);
        expect(timings?.steps).toEqual([]);
      });

      it('gives every step record kept, and NaN for items that never started or settled', async () => {
        await createRun('run-1', 3);
        await recordItems([
          { runId: 'run-1', itemIndex: 0, status: 'success', attempts: 1, result: { outcome: 'success', value: 0 }, completedAt: T0 + 20, completionSeq: 0, startedAt: T0 + 10, steps: [step('a', 'success', T0 + 10)] },
          { runId: 'run-1', itemIndex: 2, status: 'cancelled', attempts: 0, completedAt: T0 + 25, completionSeq: 1 },
        ]);
        const timings = await store.itemTimings('run-1');
        expect([...timings!.startedAt]).toEqual([T0 + 10, NaN, NaN]);
        expect([...timings!.completedAt]).toEqual([T0 + 20, NaN, T0 + 25]);
        expect(timings?.steps).toEqual([step('a', 'success', T0 + 10)]);
        expect(await store.itemTimings('no-such-run')).toBeUndefined();
      });
    });

    describe('listItems', () => {
      beforeEach(async () => {
        await createRun('run-1', 6);
        const settle = (itemIndex: number, status: 'success' | 'failed', completionSeq: number): ItemUpdate => ({
          runId: 'run-1', itemIndex, status, attempts: 1, completedAt: T0 + 100 + completionSeq, completionSeq, startedAt: T0 + itemIndex,
          result: status === 'success' ? { outcome: 'success', value: itemIndex } : { outcome: 'failed', error: { code: 500, message: `item ${itemIndex}` } },
        });
        await recordItems([settle(4, 'failed', 0), settle(1, 'success', 1), settle(3, 'failed', 2), settle(0, 'failed', 3)]);
      });
      const indices = async (query: Partial<Parameters<StateStore['listItems']>[1]>) => {
        const page = await store.listItems('run-1', { offset: 0, limit: 100, order: 'byIndex', includeInput: false, includeSteps: false, ...query });
        return { indices: page?.items.map((i) => i.itemIndex), nextOffset: page?.nextOffset };
      };

      it('filters by status and pages with offset and limit', async () => {
        expect(await indices({ statuses: ['failed'] })).toEqual({ indices: [0, 3, 4], nextOffset: undefined });
        expect(await indices({ statuses: ['failed'], limit: 2 })).toEqual({ indices: [0, 3], nextOffset: 2 });
        expect(await indices({ statuses: ['failed'], limit: 2, offset: 2 })).toEqual({ indices: [4], nextOffset: undefined });
        expect(await indices({ statuses: ['pending', 'success'] })).toEqual({ indices: [1, 2, 5], nextOffset: undefined });
      });

      it('lists settled items in completion order with byCompletion', async () => {
        expect(await indices({ order: 'byCompletion' })).toEqual({ indices: [4, 1, 3, 0], nextOffset: undefined });
        expect(await indices({ order: 'byCompletion', statuses: ['failed'], offset: 1 })).toEqual({ indices: [3, 0], nextOffset: undefined });
      });

      it('includes inputs only when asked, and answers undefined for an unknown run', async () => {
        const page = await store.listItems('run-1', { offset: 2, limit: 2, order: 'byIndex', includeInput: true, includeSteps: false });
        expect(page?.items.map((i) => i.input)).toEqual([{ i: 2 }, { i: 3 }]);
        const without = await store.listItems('run-1', { offset: 0, limit: 1, order: 'byIndex', includeInput: false, includeSteps: false });
        expect(without?.items[0]).not.toHaveProperty('input');
        expect(await store.listItems('no-such-run', { offset: 0, limit: 1, order: 'byIndex', includeInput: false, includeSteps: false })).toBeUndefined();
      });
    });
  });
}
