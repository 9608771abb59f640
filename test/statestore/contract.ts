import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Status } from '../../protocol/index.js';
import type { ItemCountsRecord, ItemUpdate, RunQuery, RunRecord, RunSummary, StateStore } from '../../src/statestore/index.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import { describeLifecycleContract } from './lifecycle-contract.js';
import { describeEventLogContract } from './event-log-contract.js';
import { describeRerunCallbackContract } from './rerun-callback-contract.js';
import { describeFlowListingContract } from './flow-listing-contract.js';

/** Applies transitions given as objects. */
const recordItems = (store: StateStore, updates: readonly ItemUpdate[]): Promise<void> => store.recordItems(ItemTransitions.of(updates));

/** How a test gets stores of one backend. */
export interface StateStoreFixture {
  /** Opens the store under test; for a durable backend every call opens the same data. */
  open(): Promise<StateStore>;
  /** Removes what the fixture created (after the last store is closed). */
  cleanup(): Promise<void>;
}

export interface StateStoreContractOptions {
  /** Whether the data outlives the store (reopen, inputs kept for resuming). */
  durable: boolean;
}

/** The behaviour every StateStore backend must show, durability included. */
export function describeStateStoreContract(name: string, options: StateStoreContractOptions, createFixture: () => Promise<StateStoreFixture>): void {
  describe(`${name} state store contract`, () => {
    let fixture: StateStoreFixture;
    let store: StateStore;
    let clock: number;

    beforeEach(async () => {
      fixture = await createFixture();
      store = await fixture.open();
      clock = 1_700_000_000_000;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    /** A run record with increasing creation times, so "newest" is unambiguous. */
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
      await store.createRun(run, Array.from({ length: itemCount }, (_, i) => ({ i })));
      return run;
    };
    const started = (runId: string, itemIndex: number, attempts = 1): ItemUpdate => ({ runId, itemIndex, status: 'running', attempts });
    const settled = (runId: string, itemIndex: number, status: 'success' | 'failed' | 'cancelled', completionSeq: number, attempts = 1): ItemUpdate => ({
      runId,
      itemIndex,
      status,
      attempts,
      result:
        status === 'success'
          ? { outcome: 'success', value: { itemIndex } }
          : status === 'failed'
            ? { outcome: 'failed', error: { code: 500, message: 'boom' } }
            : undefined,
      completedAt: 1_800_000_000_000 + completionSeq,
      completionSeq,
    });
    const listAll = async (query: Omit<RunQuery, 'limit'> = {}): Promise<RunSummary[]> => (await store.listRuns({ limit: 1000, ...query })).runs;
    const idsOf = (runs: readonly RunSummary[]) => runs.map((r) => r.record.runId);
    const countsOf = async (runId: string): Promise<ItemCountsRecord | undefined> => (await listAll()).find((r) => r.record.runId === runId)?.counts;

    describe('createRun and loadRun', () => {
      it('loads a created run with its record, a running state and every item pending', async () => {
        const run = record('run-1', {
          flowName: 'résumé',
          flowLabel: 'prod',
          parentRunId: 'run-0',
          parentItemIndex: 4,
          total: 3,
          maxConcurrency: 7,
          variables: { region: 'eu', limits: { max: 3, tags: ['a', 'b'] }, none: null },
          overrides: { step1: { $type: 'merge_patch', value: { input: { x: 1 } } }, step2: { $type: 'json_patch', value: [{ op: 'remove', path: '/a' }] } },
        });
        await store.createRun(run, [1, 2, 3]);

        expect(await store.loadRun('run-1')).toEqual({
          record: run,
          state: { status: 'running', cancelRequested: false },
          items: [0, 1, 2].map((itemIndex) => ({ itemIndex, status: 'pending', attempts: 0 })),
        });
      });

      it('leaves the optional record fields absent when they were not given', async () => {
        const run = record('run-bare');
        await store.createRun(run, []);
        const loaded = await store.loadRun('run-bare');
        expect(loaded?.record).toStrictEqual(run);
        expect(loaded?.items).toEqual([]);
      });

      it('returns undefined for a run it does not know', async () => {
        await createRun('run-1', 1);
        expect(await store.loadRun('no-such-run')).toBeUndefined();
        expect(await store.loadInputs('no-such-run')).toEqual([]);
      });

      it.skipIf(!options.durable)('returns the inputs by index with nested JSON, unicode and null intact', async () => {
        const inputs = [
          { nested: { deep: [{ x: [1, 2, { y: null }] }], empty: {}, list: [] }, n: -3.25, big: 1e21, tiny: 5e-324 },
          'héllo wörld ✓ 𝄞 日本語',
          { quote: '"\\\n\t', control: '\u0001', nul: 'a\u0000b' },
          null,
          0,
          false,
          [[], [[]], {}],
          { zebra: 1, apple: 2, mango: { b: 1, a: 2 } },
        ];
        await store.createRun(record('run-1', { total: inputs.length }), inputs);

        const loaded = await store.loadInputs('run-1');
        expect(loaded).toEqual(inputs);
        // Key order survives, so outputs derived from inputs read the same after a restart.
        expect(JSON.stringify(loaded)).toBe(JSON.stringify(inputs));
      });

      it.skipIf(!options.durable)('stores nothing of a run whose inputs cannot be stored', async () => {
        // JSON has no BigInt: the second input fails after the run row went in.
        await expect(store.createRun(record('run-1', { total: 2 }), ['ok', 10n])).rejects.toThrow();
        expect(await store.loadRun('run-1')).toBeUndefined();
        expect(await store.loadInputs('run-1')).toEqual([]);
        expect(await store.unfinishedRuns()).toEqual([]);
      });

      it.skipIf(!options.durable)('keeps the variables and overrides exactly, key order included', async () => {
        const run = record('run-1', { variables: { z: 1, a: { y: 'ü', b: [null] } }, overrides: { s: { $type: 'merge_patch', value: { k: '\u0000' } } } });
        await store.createRun(run, []);
        const loaded = await store.loadRun('run-1');
        expect(JSON.stringify(loaded?.record)).toBe(JSON.stringify(run));
      });
    });

    describe('recordItems', () => {
      it('applies transitions in order within one batch and across batches', async () => {
        await createRun('run-1', 3);
        await recordItems(store, [started('run-1', 0), started('run-1', 1), settled('run-1', 0, 'success', 0)]);
        await recordItems(store, [settled('run-1', 1, 'failed', 1, 1), started('run-1', 2)]);
        // A retried item starts again with its next attempt.
        await recordItems(store, [started('run-1', 2, 2)]);

        const loaded = await store.loadRun('run-1');
        expect(loaded?.items).toEqual([
          { itemIndex: 0, status: 'success', attempts: 1, result: { outcome: 'success', value: { itemIndex: 0 } }, completedAt: 1_800_000_000_000, completionSeq: 0 },
          { itemIndex: 1, status: 'failed', attempts: 1, result: { outcome: 'failed', error: { code: 500, message: 'boom' } }, completedAt: 1_800_000_000_001, completionSeq: 1 },
          { itemIndex: 2, status: 'running', attempts: 2 },
        ]);
      });

      it('ends with the last transition when one batch moves an item several times', async () => {
        await createRun('run-1', 2);
        await recordItems(store, [started('run-1', 1), started('run-1', 0), settled('run-1', 1, 'success', 0), started('run-1', 0, 2), settled('run-1', 0, 'failed', 1, 2)]);
        const items = (await store.loadRun('run-1'))?.items;
        expect(items?.map((i) => [i.status, i.attempts, i.completionSeq])).toEqual([
          ['failed', 2, 1],
          ['success', 1, 0],
        ]);
      });

      it('keeps the result of an item that settles and starts again within one batch', async () => {
        await createRun('run-1', 2);
        await recordItems(store, [started('run-1', 0), started('run-1', 1), settled('run-1', 0, 'failed', 0, 1), started('run-1', 0, 2), settled('run-1', 1, 'success', 1)]);
        expect((await store.loadRun('run-1'))?.items).toEqual([
          // As applied one by one: the new start changes status and attempts, not the earlier result.
          { itemIndex: 0, status: 'running', attempts: 2, result: { outcome: 'failed', error: { code: 500, message: 'boom' } }, completedAt: 1_800_000_000_000, completionSeq: 0 },
          { itemIndex: 1, status: 'success', attempts: 1, result: { outcome: 'success', value: { itemIndex: 1 } }, completedAt: 1_800_000_000_001, completionSeq: 1 },
        ]);
      });

      it('records a cancelled item without a result', async () => {
        await createRun('run-1', 2);
        await recordItems(store, [settled('run-1', 1, 'cancelled', 0, 0)]);
        const item = (await store.loadRun('run-1'))?.items[1];
        expect(item).toEqual({ itemIndex: 1, status: 'cancelled', attempts: 0, completedAt: 1_800_000_000_000, completionSeq: 0 });
        expect(item?.result).toBeUndefined();
      });

      it('keeps a result that is a skipped outcome or holds null', async () => {
        await createRun('run-1', 2);
        await recordItems(store, [
          { runId: 'run-1', itemIndex: 0, status: 'success', attempts: 1, result: { outcome: 'skipped' }, completedAt: 5, completionSeq: 0 },
          { runId: 'run-1', itemIndex: 1, status: 'success', attempts: 1, result: { outcome: 'success', value: null }, completedAt: 6, completionSeq: 1 },
        ]);
        const items = (await store.loadRun('run-1'))?.items;
        expect(items?.map((i) => i.result)).toEqual([{ outcome: 'skipped' }, { outcome: 'success', value: null }]);
      });

      it('touches only the items of the run named', async () => {
        await createRun('run-1', 2);
        await createRun('run-2', 2);
        await recordItems(store, [settled('run-2', 0, 'success', 0)]);
        expect((await store.loadRun('run-1'))?.items.map((i) => i.status)).toEqual(['pending', 'pending']);
        expect((await store.loadRun('run-2'))?.items.map((i) => i.status)).toEqual(['success', 'pending']);
      });

      it('applies writes in call order when they are not awaited one by one', async () => {
        const run = record('run-1', { total: 1 });
        await Promise.all([
          store.createRun(run, ['x']),
          recordItems(store, [started('run-1', 0)]),
          recordItems(store, [settled('run-1', 0, 'success', 0)]),
          store.finishRun('run-1', 'success', 99),
        ]);
        const loaded = await store.loadRun('run-1');
        expect(loaded?.items.map((i) => i.status)).toEqual(['success']);
        expect(loaded?.state).toEqual({ status: 'success', completedAt: 99, cancelRequested: false });
      });

      it('accepts an empty batch', async () => {
        await createRun('run-1', 1);
        await recordItems(store, []);
        expect((await store.loadRun('run-1'))?.items.map((i) => i.status)).toEqual(['pending']);
      });
    });

    describe('run state', () => {
      it('marks a run cancel-requested while it stays unfinished', async () => {
        await createRun('run-1', 1);
        await store.markCancelled('run-1');
        expect((await store.loadRun('run-1'))?.state).toEqual({ status: 'running', cancelRequested: true });
        expect(await store.unfinishedRuns()).toEqual(['run-1']);
      });

      it('finishes a run with its status and completion time', async () => {
        await createRun('run-1', 1);
        await store.finishRun('run-1', 'failed', 1_900_000_000_000);
        expect((await store.loadRun('run-1'))?.state).toEqual({ status: 'failed', completedAt: 1_900_000_000_000, cancelRequested: false });
      });

      it('lists unfinished runs oldest first, without finished ones', async () => {
        for (const id of ['r1', 'r2', 'r3', 'r4']) await createRun(id, 1);
        await store.finishRun('r2', 'success', 1);
        await store.markCancelled('r3');
        await store.finishRun('r4', 'cancelled', 2);
        expect(await store.unfinishedRuns()).toEqual(['r1', 'r3']);
      });
    });

    describe('listRuns', () => {
      /** r-pending (nothing started), r-running, r-success and r-cancelled (finished), oldest first. */
      const createMixedRuns = async () => {
        await createRun('r-pending', 2);
        await createRun('r-running', 2);
        await recordItems(store, [started('r-running', 0)]);
        await createRun('r-success', 1);
        await recordItems(store, [settled('r-success', 0, 'success', 0)]);
        await store.finishRun('r-success', 'success', 10);
        await createRun('r-cancelled', 2);
        await recordItems(store, [settled('r-cancelled', 0, 'success', 0), settled('r-cancelled', 1, 'cancelled', 1, 0)]);
        await store.markCancelled('r-cancelled');
        await store.finishRun('r-cancelled', 'cancelled', 11);
      };

      it('lists runs newest first with their record, derived status and counts', async () => {
        await createMixedRuns();
        const runs = await listAll();
        expect(idsOf(runs)).toEqual(['r-cancelled', 'r-success', 'r-running', 'r-pending']);
        expect(runs.map((r) => r.state.status)).toEqual(['cancelled', 'success', 'running', 'pending']);
        expect(runs[0]).toEqual({
          record: expect.objectContaining({ runId: 'r-cancelled', total: 2 }),
          state: { status: 'cancelled', completedAt: 11, cancelRequested: true },
          counts: { total: 2, pending: 0, running: 0, success: 1, failed: 0, cancelled: 1 },
        });
        expect(runs[2].counts).toEqual({ total: 2, pending: 1, running: 1, success: 0, failed: 0, cancelled: 0 });
        expect(runs[3].counts).toEqual({ total: 2, pending: 2, running: 0, success: 0, failed: 0, cancelled: 0 });
      });

      it('derives pending until an item starts, then running until every item settled', async () => {
        await createRun('run-1', 2);
        const status = async () => (await listAll())[0].state.status;
        expect(await status()).toBe('pending');
        await recordItems(store, [started('run-1', 0)]);
        expect(await status()).toBe('running');
        await recordItems(store, [settled('run-1', 0, 'success', 0)]);
        expect(await status()).toBe('running');
        // Every item settled but no finish record (a crash in between): terminal by the live rule.
        await recordItems(store, [settled('run-1', 1, 'success', 1)]);
        expect(await status()).toBe('success');
        expect(idsOf(await listAll({ statuses: ['success'] }))).toEqual(['run-1']);
        expect(idsOf(await listAll({ statuses: ['running'] }))).toEqual([]);
        await store.finishRun('run-1', 'success', 5);
        expect(await status()).toBe('success');
      });

      it('derives failed or cancelled for a run whose items all settled without a finish record', async () => {
        await createRun('all-failed', 2);
        await recordItems(store, [settled('all-failed', 0, 'failed', 0), settled('all-failed', 1, 'failed', 1)]);
        await createRun('cancelled', 1);
        await store.markCancelled('cancelled');
        await recordItems(store, [settled('cancelled', 0, 'cancelled', 0)]);
        const runs = await listAll();
        expect(runs.map((r) => [r.record.runId, r.state.status])).toEqual([['cancelled', 'cancelled'], ['all-failed', 'failed']]);
        expect(idsOf(await listAll({ statuses: ['failed'] }))).toEqual(['all-failed']);
      });

      it('filters by derived status', async () => {
        await createMixedRuns();
        expect(idsOf(await listAll({ statuses: ['pending'] }))).toEqual(['r-pending']);
        expect(idsOf(await listAll({ statuses: ['running'] }))).toEqual(['r-running']);
        expect(idsOf(await listAll({ statuses: ['success', 'cancelled'] }))).toEqual(['r-cancelled', 'r-success']);
        expect(idsOf(await listAll({ statuses: ['pending', 'cancelled'] }))).toEqual(['r-cancelled', 'r-pending']);
        expect(idsOf(await listAll({ statuses: ['failed'] }))).toEqual([]);
        expect(idsOf(await listAll({ statuses: [] }))).toEqual([]);
      });

      it('filters by flow id and parent run id', async () => {
        await createRun('a1', 1, { flowId: 'flow-a' });
        await createRun('b1', 1, { flowId: 'flow-b', parentRunId: 'a1' });
        await createRun('a2', 1, { flowId: 'flow-a', parentRunId: 'a1' });
        await createRun('b2', 1, { flowId: 'flow-b', parentRunId: 'b1' });
        expect(idsOf(await listAll({ flowId: 'flow-a' }))).toEqual(['a2', 'a1']);
        expect(idsOf(await listAll({ parentRunId: 'a1' }))).toEqual(['a2', 'b1']);
        expect(idsOf(await listAll({ flowId: 'flow-b', parentRunId: 'a1' }))).toEqual(['b1']);
        expect(idsOf(await listAll({ flowId: 'flow-c' }))).toEqual([]);
      });

      it('filters by creation time, excluding both bounds', async () => {
        for (const [id, createdAt] of [['t1', 1000], ['t2', 2000], ['t3', 3000], ['t4', 4000]] as const) {
          await store.createRun(record(id, { createdAt }), []);
        }
        expect(idsOf(await listAll({ createdAfter: 2000 }))).toEqual(['t4', 't3']);
        expect(idsOf(await listAll({ createdBefore: 3000 }))).toEqual(['t2', 't1']);
        expect(idsOf(await listAll({ createdAfter: 1000, createdBefore: 4000 }))).toEqual(['t3', 't2']);
        expect(idsOf(await listAll({ createdAfter: 1999, createdBefore: 2001 }))).toEqual(['t2']);
      });

      it('pages with a cursor without repeats or gaps, and no cursor after the last page', async () => {
        const ids = Array.from({ length: 25 }, (_, i) => `run-${String(i).padStart(2, '0')}`);
        for (const id of ids) await createRun(id, 1);
        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ limit: 7, cursor });
          pages.push(idsOf(page.runs));
          cursor = page.nextCursor;
        } while (cursor !== undefined && pages.length < 10);
        expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 4]);
        expect(pages.flat()).toEqual([...ids].reverse());
      });

      it('pages through a filtered list without repeats or gaps', async () => {
        for (let i = 0; i < 30; i++) {
          await createRun(`run-${i}`, 1, { flowId: i % 2 === 0 ? 'even' : 'odd' });
          if (i % 3 === 0) await store.finishRun(`run-${i}`, 'success', i);
        }
        const expected = idsOf(await listAll({ flowId: 'even', statuses: ['pending'] }));
        expect(expected).toHaveLength(10);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await store.listRuns({ limit: 3, cursor, flowId: 'even', statuses: ['pending'] });
          seen.push(...idsOf(page.runs));
          cursor = page.nextCursor;
          if (cursor === undefined) break;
        }
        expect(seen).toEqual(expected);
      });

      it('gives no cursor when a page ends with the oldest run', async () => {
        for (const id of ['r1', 'r2', 'r3']) await createRun(id, 0);
        expect(await store.listRuns({ limit: 3 })).toEqual({ runs: expect.any(Array) });
        const first = await store.listRuns({ limit: 2 });
        expect(first.nextCursor).toBeDefined();
        expect(await store.listRuns({ limit: 2, cursor: first.nextCursor })).toEqual({ runs: [expect.objectContaining({ record: expect.objectContaining({ runId: 'r1' }) })] });
      });

      it('keeps later pages stable when a run is created between pages', async () => {
        for (const id of ['r1', 'r2', 'r3', 'r4']) await createRun(id, 0);
        const first = await store.listRuns({ limit: 2 });
        await createRun('r5', 0);
        const second = await store.listRuns({ limit: 2, cursor: first.nextCursor });
        expect([...idsOf(first.runs), ...idsOf(second.runs)]).toEqual(['r4', 'r3', 'r2', 'r1']);
      });
    });

    describe('counters', () => {
      it('derives counts that add up to the total through any sequence of batches', async () => {
        const itemCount = 6;
        const transition = fc.record({
          itemIndex: fc.integer({ min: 0, max: itemCount - 1 }),
          status: fc.constantFrom<'running' | 'success' | 'failed' | 'cancelled'>('running', 'success', 'failed', 'cancelled'),
        });
        let runNumber = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(fc.array(transition, { maxLength: 8 }), { maxLength: 5 }), async (batches) => {
            const runId = `prop-${runNumber++}`;
            await createRun(runId, itemCount);
            const expected: Status[] = Array(itemCount).fill('pending');
            let seq = 0;
            for (const batch of batches) {
              await recordItems(store, batch.map(({ itemIndex, status }) => (status === 'running' ? started(runId, itemIndex) : settled(runId, itemIndex, status, seq++))));
              for (const { itemIndex, status } of batch) expected[itemIndex] = status;
              const counts = await countsOf(runId);
              const { total, ...byStatus } = counts!;
              expect(total).toBe(itemCount);
              expect(Object.values(byStatus).reduce((a, b) => a + b, 0)).toBe(itemCount);
              for (const status of ['pending', 'running', 'success', 'failed', 'cancelled'] as const) {
                expect(byStatus[status]).toBe(expected.filter((s) => s === status).length);
              }
            }
            expect((await store.loadRun(runId))?.items.map((i) => i.status)).toEqual(expected);
          }),
          { numRuns: 25 },
        );
      });

      it('creates a run of 10,000 items and updates it in a few batches', async () => {
        const n = 10_000;
        const inputs = Array.from({ length: n }, (_, i) => ({ i, text: `item ${i}` }));
        await store.createRun(record('big', { total: n }), inputs);
        const all = Array.from({ length: n }, (_, i) => i);
        await recordItems(store, all.map((i) => started('big', i)));
        await recordItems(store, all.slice(0, 6_000).map((i) => settled('big', i, 'success', i)));
        await recordItems(store, all.slice(6_000, 9_000).map((i) => settled('big', i, 'failed', i)));
        await recordItems(store, all.slice(9_000).map((i) => settled('big', i, 'cancelled', i, 0)));

        expect(await countsOf('big')).toEqual({ total: n, pending: 0, running: 0, success: 6_000, failed: 3_000, cancelled: 1_000 });
        const items = (await store.loadRun('big'))!.items;
        expect(items).toHaveLength(n);
        expect(items.every((item, i) => item.itemIndex === i && item.completionSeq === i)).toBe(true);
        expect(items[5_999].result).toEqual({ outcome: 'success', value: { itemIndex: 5_999 } });
        expect(items[9_999]).toEqual({ itemIndex: 9_999, status: 'cancelled', attempts: 0, completedAt: 1_800_000_009_999, completionSeq: 9_999 });
        if (options.durable) expect(await store.loadInputs('big')).toEqual(inputs);
      });
    });

    describe('countRunsByStatus', () => {
      /** The counts `listRuns` implies: each listed run under its derived status. */
      const countsFromList = async () => {
        const counts = { pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 };
        for (const run of await listAll()) counts[run.state.status]++;
        return counts;
      };

      it('counts every status at zero in an empty store', async () => {
        expect(await store.countRunsByStatus()).toEqual({ pending: 0, running: 0, success: 0, failed: 0, cancelled: 0 });
      });

      it('counts finished runs by their stored status and unfinished ones as pending until an item starts, then running', async () => {
        await createRun('pending-1', 2);
        await createRun('pending-2', 1_000);
        await createRun('running', 3);
        await recordItems(store, [started('running', 1)]);
        await createRun('running-settled', 2);
        await recordItems(store, [settled('running-settled', 0, 'failed', 0)]);
        await createRun('success', 1);
        await recordItems(store, [settled('success', 0, 'success', 0)]);
        await store.finishRun('success', 'success', 10);
        await createRun('failed', 1);
        await recordItems(store, [settled('failed', 0, 'failed', 0)]);
        await store.finishRun('failed', 'failed', 11);
        await createRun('cancelled', 2);
        await store.markCancelled('cancelled');
        await recordItems(store, [settled('cancelled', 0, 'cancelled', 0, 0), settled('cancelled', 1, 'cancelled', 1, 0)]);
        await store.finishRun('cancelled', 'cancelled', 12);
        expect(await store.countRunsByStatus()).toEqual({ pending: 2, running: 2, success: 1, failed: 1, cancelled: 1 });
      });

      it('counts a run whose items all settled without a finish record as terminal, as listRuns derives it', async () => {
        await createRun('all-failed', 2);
        await recordItems(store, [settled('all-failed', 0, 'failed', 0), settled('all-failed', 1, 'failed', 1)]);
        await createRun('partly-failed', 2);
        await recordItems(store, [settled('partly-failed', 0, 'failed', 0), settled('partly-failed', 1, 'success', 1)]);
        await createRun('cancel-requested', 1);
        await store.markCancelled('cancel-requested');
        await recordItems(store, [settled('cancel-requested', 0, 'success', 0)]);
        await createRun('empty', 0);
        expect(await store.countRunsByStatus()).toEqual({ pending: 0, running: 0, success: 2, failed: 1, cancelled: 1 });
        expect(await store.countRunsByStatus()).toEqual(await countsFromList());
      });

      it('agrees with the statuses listRuns derives through any sequence of batches', async () => {
        const transition = fc.record({
          run: fc.integer({ min: 0, max: 2 }),
          itemIndex: fc.integer({ min: 0, max: 2 }),
          status: fc.constantFrom<'running' | 'success' | 'failed' | 'cancelled'>('running', 'success', 'failed', 'cancelled'),
        });
        let round = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(transition, { maxLength: 10 }), fc.boolean(), async (transitions, cancel) => {
            const runIds = [0, 1, 2].map((r) => `prop-${round}-${r}`);
            round++;
            for (const runId of runIds) await createRun(runId, 3);
            if (cancel) await store.markCancelled(runIds[0]);
            let seq = 0;
            await recordItems(store, transitions.map(({ run, itemIndex, status }) =>
              status === 'running' ? started(runIds[run], itemIndex) : settled(runIds[run], itemIndex, status, seq++)));
            expect(await store.countRunsByStatus()).toEqual(await countsFromList());
          }),
          { numRuns: 20 },
        );
      });
    });

    describe.skipIf(!options.durable)('durability', () => {
      it('keeps runs, items, inputs and run state across a close and reopen', async () => {
        await createRun('done', 2, { flowName: 'f', variables: { v: [1, 'two'] } });
        await recordItems(store, [settled('done', 0, 'success', 0), settled('done', 1, 'failed', 1, 3)]);
        await store.finishRun('done', 'failed', 123);
        await createRun('live', 3, { parentRunId: 'done', overrides: { s: { $type: 'merge_patch', value: { a: 1 } } } });
        await recordItems(store, [started('live', 0), settled('live', 2, 'success', 0)]);
        await store.markCancelled('live');
        const before = {
          done: await store.loadRun('done'),
          live: await store.loadRun('live'),
          inputs: await store.loadInputs('live'),
          list: await store.listRuns({ limit: 10 }),
        };

        await store.close();
        store = await fixture.open();

        expect(await store.loadRun('done')).toEqual(before.done);
        expect(await store.loadRun('live')).toEqual(before.live);
        expect(await store.loadInputs('live')).toEqual(before.inputs);
        expect(await store.listRuns({ limit: 10 })).toEqual(before.list);
        expect(await store.unfinishedRuns()).toEqual(['live']);
      });

      it('lists a run created after a reopen as the newest', async () => {
        await createRun('old-1', 0);
        await createRun('old-2', 0);
        await store.close();
        store = await fixture.open();
        await createRun('new', 0);
        expect(idsOf(await listAll())).toEqual(['new', 'old-2', 'old-1']);
      });
    });

    describeRerunCallbackContract({
      store: () => store,
      reopen: options.durable
        ? async () => {
            await store.close();
            store = await fixture.open();
          }
        : undefined,
    });
    describeFlowListingContract({ store: () => store });
    describeLifecycleContract(createFixture);
    describeEventLogContract(options, createFixture);
  });
}
